"""The whole top-down system on one image: YOLOv3 -> AlphaPose crops -> FastPose -> heatmap decoding
-> pose NMS -> OPEC-Net refinement of each person -> CrowdPose-14 or COCO-17 poses.

Refinement follows the original test protocol (opec_spec §11.1, §13): each pose-NMS person is
cropped again with ``crop_large`` on its crop box (the AlphaPose-enlarged detector box the pose
came from), the frozen SPPE gives the three feature taps, the 12 body joints (COCO 5..16) are
normalised to that box, refined, mapped back to image pixels, and only joints whose SPPE score is
below 0.2 take the refined coordinates. Scores are never changed.

Output joints: COCO-17 = the SPPE's 17 joints with the 12 body joints replaced by the refined
ones. CrowdPose-14 = the 12 refined body joints, then two joints the SPPE does not predict, made
from its joints (:func:`head_and_neck`): neck = midpoint of the two shoulders (score: the lower
shoulder score); head (top) = the face centre (score-weighted mean of nose and eyes) moved away
from the neck by half the neck-to-face distance (score: mean of the nose/eye scores).

All coordinates are image pixels; boxes are corner format (x1, y1, x2, y2).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from opec.data.crop import alphapose_crop, crop_large, denormalize_from_box, normalize_to_box
from opec.evaluation.protocol import replace_low_confidence
from opec.keypoints import COCO17, TO_OPEC12

OUTPUT_FORMATS = ("crowdpose", "coco")
# opec_spec §11.1 step 3f: joints with an SPPE score below this take the refined coordinates.
REFINE_SCORE_THRESHOLD = 0.2
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
            (``opec.detection.YOLODetector``); may be None when boxes are always given.
        sppe: ``opec.sppe.FastPose`` (eval mode; frozen).
        refiner: an OPEC-Net module (``opec.refiner``) or None for the AlphaPose poses alone.
        device: torch device for the SPPE and the refiner.
        output_format: 'crowdpose' (14 joints) or 'coco' (17 joints).
        sppe_batch: crops per SPPE forward (AlphaPose's ``posebatch``).
        refiner_sppe: the SPPE whose taps feed the refiner when it is not ``sppe`` (the
            fine-tuned SPPE of an "Alpha" checkpoint, opec_spec §7.11); None = ``sppe``.

    Calling the pipeline on a BGR uint8 image (H, W, 3) returns one dict per person, in pose-NMS
    order: ``keypoints`` (J, 3) float32 x, y, score (refined), ``initial_keypoints`` (J, 3)
    (before refinement), ``score`` (pose-NMS proposal score), ``bbox`` (4,) the crop box,
    ``detection_box`` (4,) the detector box it came from.
    """

    def __init__(self, detector, sppe, refiner=None, device="cpu", output_format="crowdpose",
                 sppe_batch: int = SPPE_BATCH, refiner_sppe=None):
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, not {output_format!r}")
        self.device = torch.device(device)
        self.detector = detector
        self.sppe = sppe.to(self.device).eval()
        self.refiner = None if refiner is None else refiner.to(self.device).eval()
        self.refiner_sppe = None if refiner_sppe is None else refiner_sppe.to(self.device).eval()
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
            reuse = self.refiner is not None and self.refiner_sppe is None
            persons, features = self._initial(image, *det, keep_features=reuse)
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
            output = self.sppe(inps[i:i + self.sppe_batch].to(self.device))
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
        came from; features: the SPPE taps of those crops ([(P, 512, 20, 16), (P, 256, 40, 32),
        (P, 128, 80, 64)] for 320x256 crops), computed from ``crop_large`` when None.
        """
        body = keypoints17[:, _BODY].astype(np.float64)
        if self.refiner is None or len(body) == 0:
            return body.astype(np.float32)
        crop_boxes = torch.as_tensor(np.asarray(crop_boxes, dtype=np.float32).reshape(-1, 4))
        pt1, pt2 = crop_boxes[:, :2], crop_boxes[:, 2:]
        # normalised in float64, then float32, as the original does with the JSON joints (§14.11)
        frame = crop_boxes.numpy().astype(np.float64)
        joints = torch.from_numpy(normalize_to_box(body, frame[:, :2], frame[:, 2:]).astype(np.float32))
        refined = []
        for i in range(0, len(body), self.sppe_batch):
            if features is None:
                crops = crop_large(image, crop_boxes[i:i + self.sppe_batch])[0].to(self.device)
                taps = (self.sppe if self.refiner_sppe is None else self.refiner_sppe)(crops).features
            else:
                taps = [t[i:i + self.sppe_batch] for t in features]
            output = self.refiner(joints[i:i + self.sppe_batch].to(self.device), taps)
            refined.append(output.stages[-1].float().cpu())       # last GCN stage, box frame
        refined_xy = denormalize_from_box(torch.cat(refined), pt1, pt2).numpy().astype(np.float64)
        return replace_low_confidence(body, refined_xy, REFINE_SCORE_THRESHOLD).astype(np.float32)

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


def build_pipeline(config=None, *, yolo_weights="weights/yolo/yolov3-spp.weights", yolo_cfg=None,
                   inp_dim: int = 608, sppe_weights="weights/sppe/duc_se.pth", checkpoint=None,
                   refine: bool = True, device="cpu", output_format="crowdpose",
                   sppe_batch: int = SPPE_BATCH) -> TopDownPipeline:
    """A :class:`TopDownPipeline` from weight files.

    ``config``: a config path or Config whose ``model`` dict describes the refiner (default: the
    attention/integral variant); with ``sppe.fine_tune`` true (the "Alpha" configs) the checkpoint
    also holds a fine-tuned SPPE, which then gives the refiner its features while ``duc_se.pth``
    still gives the initial poses. ``checkpoint``: the refiner's weights (original or this
    project's key names), required when ``refine``. Every weight file is checked first, so a
    missing one fails before anything is built, with a message naming the file.
    """
    from opec.detection import DEFAULT_CFG, YOLODetector
    from opec.sppe import build_sppe

    yolo_weights = require_file(yolo_weights, "YOLOv3 weights")
    sppe_weights = require_file(sppe_weights, "SPPE weights (duc_se.pth)")
    if refine:
        if checkpoint is None:
            raise ValueError("refinement needs an OPEC-Net checkpoint (or refine=False)")
        checkpoint = require_file(checkpoint, "OPEC-Net checkpoint")
    detector = YOLODetector(cfg_path=yolo_cfg or DEFAULT_CFG, weights=yolo_weights, inp_dim=inp_dim,
                            device=device)
    sppe = build_sppe(weights=str(sppe_weights), device=device, fuse=True)  # frozen: BN folded, fused oneDNN convs
    refiner, refiner_sppe = build_refiner_from(config, checkpoint) if refine else (None, None)
    return TopDownPipeline(detector, sppe, refiner, device=device, output_format=output_format,
                           sppe_batch=sppe_batch, refiner_sppe=refiner_sppe)


def build_refiner_from(config, checkpoint):
    """(refiner, fine-tuned SPPE or None) of ``config`` (path, Config or None = default model) with
    ``checkpoint`` loaded."""
    from opec.refiner import build_refiner, load_refiner_checkpoint

    model_cfg, alpha = dict(type="OPECNet", point_head="integral"), False
    if config is not None:
        if isinstance(config, (str, Path)):
            from opec.config import load_config

            config = load_config(config)
        model_cfg = dict(config["model"])
        alpha = bool(config.get("sppe", {}).get("fine_tune", False))
    refiner = build_refiner(model_cfg)
    if not alpha:
        load_refiner_checkpoint(refiner, str(checkpoint))
        return refiner, None
    from opec.refiner.alpha import AlphaOPECNet, load_alpha_checkpoint
    from opec.sppe import build_sppe

    model = AlphaOPECNet(refiner, build_sppe(None))
    load_alpha_checkpoint(model, str(checkpoint))
    return model.refiner, model.sppe
