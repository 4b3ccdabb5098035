"""The whole top-down system on one image: YOLOv3 -> AlphaPose crops -> FastPose -> heatmap decoding
-> pose NMS -> OPEC-Net refinement of each person -> CrowdPose-14 or COCO-17 poses.

Refinement follows the original test protocol (docs/inference.md): each pose-NMS person is
cropped again with ``crop_large`` on its crop box (the AlphaPose-enlarged detector box the pose
came from), the model's feature network gives the three feature taps (when it is the pose network
itself, the taps of the first pass are reused), the 12 body joints (COCO 5..16) are normalised to
that box, refined, mapped back to image pixels, and only joints whose SPPE score is below 0.2 take
the refined coordinates. Scores are never changed.

Output joints: COCO-17 = the SPPE's 17 joints with the 12 body joints replaced by the refined
ones. CrowdPose-14 = the 12 refined body joints, then two joints the SPPE does not predict, made
from its joints (:func:`head_and_neck`): neck = midpoint of the two shoulders (score: the lower
shoulder score); head (top) = the face centre (score-weighted mean of nose and eyes) moved away
from the neck by half the neck-to-face distance (score: mean of the nose/eye scores).

All coordinates are image pixels; boxes are corner format (x1, y1, x2, y2).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from opec.data.crop import alphapose_crop, crop_large, denormalize_from_box, normalize_to_box
from opec.detection.detector import DEFAULT_WEIGHTS as DEFAULT_YOLO_WEIGHTS
from opec.evaluation.protocol import replace_low_confidence
from opec.keypoints import COCO17, TO_OPEC12
from opec.registry import DETECTORS, FEATURE_NETS, build
from opec.sppe.weights import DEFAULT_SPPE_WEIGHTS

OUTPUT_FORMATS = ("crowdpose", "coco")
# The stages of the original system; a config's ``detector`` / ``pose_net`` fields replace them.
DEFAULT_DETECTOR = dict(type="YOLOv3", weights=str(DEFAULT_YOLO_WEIGHTS), inp_dim=608)
# frozen inference: BatchNorm folded, fused oneDNN convolutions
DEFAULT_POSE_NET = dict(type="FastPose", weights=str(DEFAULT_SPPE_WEIGHTS), fuse=True)
# The refiner's default model when no config is given: the attention / soft-argmax variant.
DEFAULT_MODEL = dict(type="TopDownRefiner", feature_net=dict(type="FastPose"),
                     refiner=dict(type="OPECNet", point_head="integral"), fine_tune=False)
# AlphaPose's ``posebatch``: crops per SPPE forward.
SPPE_BATCH = 80
# Head top = face centre + HEAD_EXTENSION * (face centre - neck) (see module docstring).
HEAD_EXTENSION = 0.5
_FACE = [COCO17.index(n) for n in ("nose", "left_eye", "right_eye")]
_BODY = list(TO_OPEC12["coco"])
WEIGHTS_HELP = "see weights/README.md (where each weight file comes from)"


def head_and_neck(keypoints17: np.ndarray, body12: np.ndarray) -> np.ndarray:
    """CrowdPose's head and neck from COCO-17 SPPE joints.

    keypoints17 (P, 17, 3) SPPE joints (face points used); body12 (P, 12, 3) final body joints
    (shoulders used). Returns (P, 2, 3): head (top), neck -- x, y, score.
    """
    face = keypoints17[:, _FACE]                                             # (P, 3, 3)
    weight = np.clip(face[..., 2:3], 1e-6, None)
    centre = (face[..., :2] * weight).sum(1) / weight.sum(1)                 # (P, 2)
    neck = (body12[:, 0, :2] + body12[:, 1, :2]) / 2
    head = centre + HEAD_EXTENSION * (centre - neck)
    head_score = face[..., 2].mean(1)
    neck_score = np.minimum(body12[:, 0, 2], body12[:, 1, 2])
    return np.stack([np.concatenate([head, head_score[:, None]], 1),
                     np.concatenate([neck, neck_score[:, None]], 1)], axis=1)


def to_output_format(keypoints17: np.ndarray, body12: np.ndarray, output_format: str) -> np.ndarray:
    """(P, J, 3) poses in ``output_format`` from SPPE joints (P, 17, 3) and body joints (P, 12, 3)."""
    if output_format == "coco":
        out = keypoints17.copy()
        out[:, _BODY] = body12
        return out
    return np.concatenate([body12, head_and_neck(keypoints17, body12)], axis=1)


class TopDownPipeline:
    """Image -> person poses, as the original system (AlphaPose + OPEC-Net) runs end to end.

    Args:
        detector: an object with ``detect(list of BGR images) -> [(boxes (K,4), scores (K,))]``
            (a ``DETECTORS`` part, e.g. ``opec.detection.YOLODetector``); may be None when boxes
            are always given.
        pose_net: the network whose heatmaps give the initial poses (a ``FEATURE_NETS`` part,
            FastPose; eval mode, frozen).
        model: the refinement model (``opec.refiner.TopDownRefiner``) or None for the initial
            poses alone. When its frozen feature network *is* ``pose_net``, the taps of the pose
            pass are reused; a fine-tuned one (the "Alpha" checkpoints) runs on the crops itself.
        device: torch device for the networks.
        output_format: 'crowdpose' (14 joints) or 'coco' (17 joints).
        sppe_batch: crops per network forward (AlphaPose's ``posebatch``).

    Calling the pipeline on a BGR uint8 image (H, W, 3) returns one dict per person, in pose-NMS
    order: ``keypoints`` (J, 3) float32 x, y, score (refined), ``initial_keypoints`` (J, 3)
    (before refinement), ``score`` (pose-NMS proposal score), ``bbox`` (4,) the crop box,
    ``detection_box`` (4,) the detector box it came from.
    """

    def __init__(self, detector, pose_net, model=None, device="cpu", output_format="crowdpose",
                 sppe_batch: int = SPPE_BATCH):
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, not {output_format!r}")
        self.device = torch.device(device)
        self.detector = detector
        self.pose_net = pose_net.to(self.device).eval()
        self.model = None if model is None else model.to(self.device).eval()
        self.reuse_taps = model is not None and not model.fine_tune and model.feature_net is pose_net
        self.output_format = output_format
        self.sppe_batch = sppe_batch

    def __call__(self, image_bgr: np.ndarray, boxes=None, box_scores=None) -> list[dict]:
        return self.predict([image_bgr], None if boxes is None else [boxes],
                            None if box_scores is None else [box_scores])[0]

    def predict(self, images: list[np.ndarray], boxes=None, box_scores=None) -> list[list[dict]]:
        """Poses for several images; the detector sees them as one list (its own batching).
        ``boxes``/``box_scores``: optional per-image detector output (K, 4) / (K,) to skip it."""
        detections = self._detections(images, boxes, box_scores)
        out = []
        for image, det in zip(images, detections):
            persons, features = self._initial(image, *det, keep_features=self.reuse_taps)
            out.append(self._finish(image, persons, features))
        return out

    def estimate_initial(self, image_bgr: np.ndarray, boxes=None, box_scores=None) -> list[dict]:
        """AlphaPose poses of one image (no refinement): dicts with ``keypoints`` (17, 3) COCO
        order, ``score``, ``bbox`` (crop box), ``detection_box``."""
        det = self._detections([image_bgr], None if boxes is None else [boxes],
                               None if box_scores is None else [box_scores])[0]
        return self._initial(image_bgr, *det, keep_features=False)[0]

    def _detections(self, images, boxes, box_scores):
        if boxes is not None:
            scores = box_scores if box_scores is not None else [np.ones(len(b)) for b in boxes]
            return [(torch.as_tensor(np.asarray(b, dtype=np.float32).reshape(-1, 4)),
                     torch.as_tensor(np.asarray(s, dtype=np.float32).reshape(-1)))
                    for b, s in zip(boxes, scores)]
        if self.detector is None:
            raise ValueError("this pipeline has no detector: pass boxes")
        return self.detector.detect(list(images))

    @torch.no_grad()
    def _initial(self, image, boxes: torch.Tensor, scores: torch.Tensor, keep_features: bool):
        """Pose-NMS persons of one image and, with ``keep_features``, the SPPE taps of their crops
        ([tap16, tap8, tap4], each (P, C, H, W) on the device), else None."""
        from opec.sppe import decode_heatmaps, pose_nms

        if len(boxes) == 0:
            return [], None
        inps, pt1, pt2 = alphapose_crop(image, boxes)
        heatmaps, taps = [], []
        for i in range(0, len(inps), self.sppe_batch):
            output = self.pose_net(inps[i:i + self.sppe_batch].to(self.device))
            heatmaps.append(output.heatmaps.float().cpu())
            if keep_features:
                taps.append(output.features)
        coords, joint_scores = decode_heatmaps(torch.cat(heatmaps), pt1, pt2)
        kept = pose_nms(boxes, scores.reshape(-1, 1), coords, joint_scores)
        crop_boxes = torch.cat([pt1, pt2], dim=1).numpy()
        picks = [int(person["index"]) for person in kept]
        persons = [dict(
            keypoints=np.concatenate([np.asarray(person["keypoints"], dtype=np.float32),
                                      np.asarray(person["kp_score"], dtype=np.float32)], axis=1),
            score=float(person["proposal_score"]),
            bbox=crop_boxes[pick].astype(np.float32),
            detection_box=boxes[pick].numpy().astype(np.float32),
        ) for person, pick in zip(kept, picks)]
        features = None
        if keep_features and picks:
            # crop_large on a crop box gives exactly the crop alphapose_crop took from it, so the
            # taps of this SPPE pass are the ones the original's second pass would compute.
            index = torch.as_tensor(picks, device=self.device)
            features = [torch.cat([t[k] for t in taps]).index_select(0, index) for k in range(3)]
        return persons, features

    @torch.no_grad()
    def refine(self, image, keypoints17: np.ndarray, crop_boxes: np.ndarray, features=None) -> np.ndarray:
        """Refined 12 body joints (P, 12, 3) in image pixels (protocol applied; scores unchanged).

        keypoints17 (P, 17, 3) SPPE joints (image px); crop_boxes (P, 4) the boxes their crops
        came from; features: the taps of those crops (FastPose: [(P, 512, 20, 16), (P, 256, 40, 32),
        (P, 128, 80, 64)] for 320x256 crops), computed from ``crop_large`` crops when None.
        """
        body = keypoints17[:, _BODY].astype(np.float64)
        if self.model is None or len(body) == 0:
            return body.astype(np.float32)
        crop_boxes = torch.as_tensor(np.asarray(crop_boxes, dtype=np.float32).reshape(-1, 4))
        pt1, pt2 = crop_boxes[:, :2], crop_boxes[:, 2:]
        # normalised in float64, then float32, as the original does with the JSON joints
        frame = crop_boxes.numpy().astype(np.float64)
        joints = torch.from_numpy(normalize_to_box(body, frame[:, :2], frame[:, 2:]).astype(np.float32))
        refined = []
        for i in range(0, len(body), self.sppe_batch):
            if features is not None:
                inputs = [t[i:i + self.sppe_batch] for t in features]
            else:
                inputs = crop_large(image, crop_boxes[i:i + self.sppe_batch])[0].to(self.device)
                if not self.model.fine_tune:
                    inputs = list(self.model.feature_net(inputs).features)
            output = self.model(joints[i:i + self.sppe_batch].to(self.device), inputs)
            refined.append(output.stages[-1].float().cpu())       # last GCN stage, box frame
        refined_xy = denormalize_from_box(torch.cat(refined), pt1, pt2).numpy().astype(np.float64)
        return replace_low_confidence(body, refined_xy).astype(np.float32)

    def _finish(self, image, persons: list[dict], features) -> list[dict]:
        if not persons:
            return []
        keypoints17 = np.stack([p["keypoints"] for p in persons])
        body = self.refine(image, keypoints17, np.stack([p["bbox"] for p in persons]), features)
        final = to_output_format(keypoints17, body, self.output_format)
        initial = to_output_format(keypoints17, keypoints17[:, _BODY], self.output_format)
        return [dict(keypoints=final[i], initial_keypoints=initial[i], score=p["score"],
                     bbox=p["bbox"], detection_box=p["detection_box"])
                for i, p in enumerate(persons)]


def require_file(path, what: str) -> Path:
    """``path`` as a Path if it is a file; else FileNotFoundError naming it and where to get it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found; {WEIGHTS_HELP}")
    return path


def original_stages(yolo_weights, yolo_cfg, inp_dim: int, sppe_weights) -> tuple[dict, dict]:
    """The original system's detector and pose network with the given files (the command-line
    tools' ``--yolo-weights``, ``--yolo-cfg`` (None: the packaged cfg), ``--inp-dim``, ``--sppe-weights``)."""
    detector = dict(DEFAULT_DETECTOR, weights=yolo_weights, inp_dim=inp_dim)
    if yolo_cfg is not None:
        detector["cfg_path"] = yolo_cfg
    return detector, dict(DEFAULT_POSE_NET, weights=sppe_weights)


def build_pipeline(config=None, *, detector: Mapping | None = None, pose_net: Mapping | None = None,
                   checkpoint=None, refine: bool = True, device="cpu", output_format="crowdpose",
                   sppe_batch: int = SPPE_BATCH) -> TopDownPipeline:
    """A :class:`TopDownPipeline` from configs and weight files.

    ``config``: a config path or Config. Its ``model`` describes the refinement model (default:
    :data:`DEFAULT_MODEL`); its optional ``detector`` / ``pose_net`` fields the other stages.
    ``detector`` / ``pose_net`` arguments (config dicts) override those; the defaults are the
    original system's (:data:`DEFAULT_DETECTOR`, :data:`DEFAULT_POSE_NET`). A frozen feature network
    of the pose network's type *is* the pose network (its weights, its taps reused); a fine-tuned
    one (the "Alpha" configs) comes from ``checkpoint``, which holds the refiner's weights and is
    required when ``refine``. Every weight file is checked first, so a missing one fails before
    anything is built, with a message naming the file.
    """
    from opec.refiner import build_model

    if isinstance(config, (str, Path)):
        from opec.config import load_config

        config = load_config(config)
    config = config or {}
    detector_cfg = dict(detector or config.get("detector") or DEFAULT_DETECTOR)
    pose_cfg = dict(pose_net or config.get("pose_net") or DEFAULT_POSE_NET)
    model_cfg = dict(config.get("model") or DEFAULT_MODEL)
    shared = not model_cfg.get("fine_tune", False) and dict(model_cfg["feature_net"]).get("type") == pose_cfg.get("type")
    for stage, what in ((detector_cfg, "detector weights"), (pose_cfg, "pose network weights")):
        if stage.get("weights") is not None:
            require_file(stage["weights"], what)
    if refine:
        if checkpoint is None:
            raise ValueError("refinement needs an OPEC-Net checkpoint (or refine=False)")
        checkpoint = require_file(checkpoint, "OPEC-Net checkpoint")
        if not shared and dict(model_cfg["feature_net"]).get("weights") is not None:
            require_file(model_cfg["feature_net"]["weights"], "feature network weights")
    detector_net = build(DETECTORS, detector_cfg, "detector", device=device)
    pose = build(FEATURE_NETS, pose_cfg, "pose_net")
    model = None
    if refine:
        model = build_model(model_cfg, feature_net=pose if shared else None)
        model.load_checkpoint(str(checkpoint))
    return TopDownPipeline(detector_net, pose, model, device=device, output_format=output_format,
                           sppe_batch=sppe_batch)
