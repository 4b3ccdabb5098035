"""Processed annotations in the original OPEC-Net formats, made from any COCO-format keypoint set.

Inputs: a COCO-format keypoint GT file (CrowdPose-14 or COCO-17 joints; CrowdPose, COCO, OCHuman,
OCPose) and initial poses per image -- either an AlphaPose-style results file or this project's
detector + SPPE (:func:`detections_from_pipeline`). Outputs (docs/datasets.md):

* training pairs (``train_*.json``): a list of ``{img_name, pair: [{score, yolo_bbox, gt, dt}]}``,
  one element per image with at least one matched person (:mod:`opec.datasets.training_pairs`);
* test predictions (``test_compute_map++.json`` style): every initial pose as a results entry with
  ``image_id`` (file-name string), ``category_id`` 1, 36-float ``keypoints``, ``score`` and the
  corner-format crop box in ``bbox``;
* a best-match file of the same format (from a second results file, or a copy of the test file).

All boxes are corner format (x0, y0, x1, y1) in image pixels; ``yolo_bbox``/``bbox`` hold the crop
box, i.e. the AlphaPose-enlarged detector box that OPEC crops and normalises joints with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from opec.datasets.training_pairs import MatchingRule, gt_oks_scale, match_greedy, oks_matrix
from opec.data.crop import enlarge_boxes
from opec.fileio import read_json
from opec.keypoints import JOINT_SET_BY_LENGTH, OPEC12, TO_OPEC12

# Joints at or above this score span the box derived from keypoints (results without a box).
KEYPOINT_BOX_MIN_SCORE = 0.05


class DataPrepError(ValueError):
    """Bad input for data preparation; the message is one line naming file and field."""


@dataclass
class KeypointFile:
    """A COCO-format keypoint GT file, indexed by image id, as data preparation walks it (the
    evaluator reads GT into arrays instead: ``opec.evaluation.inputs.GroundTruth``).

    ``joint_set``: 'coco' or 'crowdpose'; ``images[id]``: the image record (file_name, width,
    height); ``annotations[id]``: that image's person annotations (file order); ``raw``: the
    file's dict as loaded.
    """

    path: Path
    joint_set: str
    images: dict[int, dict]
    raw: dict
    annotations: dict[int, list[dict]] = field(default_factory=dict)
    ids_by_file_name: dict[str, int] = field(default_factory=dict)


@dataclass
class InitialPoses:
    """Initial poses of one image: joints12 (D, 12, 3) x, y, score; scores (D,); crop_boxes (D, 4)."""

    joints12: np.ndarray
    scores: np.ndarray
    crop_boxes: np.ndarray


def load_keypoint_gt(path: str | Path) -> KeypointFile:
    """Read and check a COCO-format keypoint GT file (17 or 14 joints per person)."""
    path = Path(path)
    data = _read_json(path)
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise DataPrepError(f"{path}: expected a COCO-format dict with 'images' and 'annotations'")
    lengths = set()
    for i, ann in enumerate(data["annotations"]):
        keypoints = ann.get("keypoints")
        if not keypoints:
            raise DataPrepError(f"{path}: annotations[{i}] has no 'keypoints' "
                                "(expected a COCO keypoint file with 17 or 14 joints per person)")
        if "bbox" not in ann or "image_id" not in ann:
            raise DataPrepError(f"{path}: annotations[{i}] lacks 'bbox' or 'image_id'")
        _finite(keypoints, f"{path}: annotations[{i}].keypoints")
        box = _finite(ann["bbox"], f"{path}: annotations[{i}].bbox")
        if box.shape != (4,) or box[2] < 0 or box[3] < 0:
            raise DataPrepError(f"{path}: annotations[{i}].bbox: expected [x, y, width, height] with width "
                                f"and height >= 0, got {[float(v) for v in box]}")
        lengths.add(len(keypoints))
    if not data["annotations"]:
        raise DataPrepError(f"{path}: 'annotations' is empty (expected keypoint annotations)")
    names = {n: name for n, name in JOINT_SET_BY_LENGTH.items() if name != "opec12"}  # GT: COCO-17 or CrowdPose-14
    if len(lengths) != 1 or next(iter(lengths)) not in names:
        raise DataPrepError(f"{path}: annotations[*].keypoints has lengths {sorted(lengths)}; "
                            "expected 51 (COCO-17) or 42 (CrowdPose-14) values for every person")
    images = {}
    for i, img in enumerate(data["images"]):
        if "id" not in img or "file_name" not in img:
            raise DataPrepError(f"{path}: images[{i}] lacks 'id' or 'file_name'")
        images[int(img["id"])] = img
    gt = KeypointFile(path, names[lengths.pop()], images, data,
                     ids_by_file_name={img["file_name"]: i for i, img in images.items()})
    for i, ann in enumerate(data["annotations"]):
        if int(ann["image_id"]) not in images:
            raise DataPrepError(f"{path}: annotations[{i}].image_id {ann['image_id']} "
                                "is not in 'images'")
        gt.annotations.setdefault(int(ann["image_id"]), []).append(ann)
    return gt


def read_image_list(path: str | Path) -> list[str]:
    """Image file names, one per line (blank lines ignored), e.g. OCPose's ``test_list.txt``."""
    path = Path(path)
    try:
        names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataPrepError(f"{path}: cannot read the image list ({exc})") from None
    if not names:
        raise DataPrepError(f"{path}: the image list is empty (expected one file name per line)")
    return names


def restrict_gt(gt: KeypointFile, file_names: list[str]) -> tuple[KeypointFile, list[str]]:
    """The GT reduced to the images named in ``file_names``, and the names it does not contain.

    The returned ``raw`` dict keeps every top-level field and only the kept images/annotations.
    """
    keep = {gt.ids_by_file_name[n] for n in file_names if n in gt.ids_by_file_name}
    missing = [n for n in file_names if n not in gt.ids_by_file_name]
    raw = dict(gt.raw)
    raw["images"] = [img for img in gt.raw["images"] if int(img["id"]) in keep]
    raw["annotations"] = [a for a in gt.raw["annotations"] if int(a["image_id"]) in keep]
    images = {i: img for i, img in gt.images.items() if i in keep}
    subset = KeypointFile(gt.path, gt.joint_set, images, raw,
                         {i: anns for i, anns in gt.annotations.items() if i in keep},
                         {img["file_name"]: i for i, img in images.items()})
    return subset, missing


def gt_joints12(annotations: list[dict], joint_set: str) -> np.ndarray:
    """(G, 12, 3) GT x, y, v of the 12 OPEC joints (COCO 5..16 / CrowdPose first 12)."""
    if not annotations:
        return np.zeros((0, OPEC12.num_joints, 3), dtype=np.float64)
    joints = np.array([a["keypoints"] for a in annotations], dtype=np.float64).reshape(
        len(annotations), -1, 3)
    return joints[:, list(TO_OPEC12[joint_set])]


def keypoint_boxes(joints: np.ndarray) -> np.ndarray:
    """Tight corner boxes (N, 4) around each pose's joints with score >= 0.05 (all joints when
    none reaches it). joints (N, J, 3) image pixels."""
    joints = np.asarray(joints, dtype=np.float64)
    confident = joints[..., 2] >= KEYPOINT_BOX_MIN_SCORE
    confident |= ~confident.any(axis=1, keepdims=True)
    xy = joints[..., :2]
    low = np.where(confident[..., None], xy, np.inf).min(axis=1)
    high = np.where(confident[..., None], xy, -np.inf).max(axis=1)
    return np.concatenate([low, high], axis=1)


def load_results(path: str | Path, gt: KeypointFile, box_source: str = "auto") -> dict[int, InitialPoses]:
    """Read an AlphaPose-style results list into per-image :class:`InitialPoses`.

    ``keypoints`` may hold 51 (COCO-17), 42 (CrowdPose-14) or 36 (12 joints) values; ``image_id``
    an int id or a file-name string ("103319.jpg"). Crop box per ``box_source``: 'bbox' -- the
    entry's ``bbox`` as a corner-format crop box (the OPEC files' convention); 'keypoints' -- the
    tight box around the joints, enlarged as AlphaPose enlarges detector boxes; 'auto' -- 'bbox'
    where present, else 'keypoints'. Images of the GT without entries get no detections.
    """
    if box_source not in ("auto", "bbox", "keypoints"):
        raise ValueError(f"box_source must be 'auto', 'bbox' or 'keypoints', not {box_source!r}")
    path = Path(path)
    entries = _read_json(path)
    if not isinstance(entries, list) or not entries:
        raise DataPrepError(f"{path}: expected a non-empty JSON list of results entries (the initial poses)")
    grouped: dict[int, list[tuple[np.ndarray, float, np.ndarray]]] = {}
    for i, entry in enumerate(entries):
        keypoints = entry.get("keypoints") if isinstance(entry, dict) else None
        if keypoints is None or len(keypoints) not in JOINT_SET_BY_LENGTH:
            raise DataPrepError(f"{path}: entry {i} 'keypoints' must hold 51, 42 or 36 values")
        if "score" not in entry or "image_id" not in entry:
            raise DataPrepError(f"{path}: entry {i} lacks 'score' or 'image_id'")
        image_id = _resolve_image_id(entry["image_id"], gt)
        if image_id is None:
            raise DataPrepError(f"{path}: entry {i} image_id {entry['image_id']!r} is not an image "
                                f"of {gt.path.name}")
        full = _finite(keypoints, f"{path}: entry {i} 'keypoints'").reshape(1, -1, 3)
        joints = full[0, list(TO_OPEC12[JOINT_SET_BY_LENGTH[len(keypoints)]])]
        score = _finite([entry["score"]], f"{path}: entry {i} 'score'")[0]
        if box_source != "keypoints" and "bbox" in entry:
            box = _finite(entry["bbox"], f"{path}: entry {i} 'bbox'")
            if box.shape != (4,) or not (box[2] > box[0] and box[3] > box[1]):
                raise DataPrepError(f"{path}: entry {i} 'bbox' must be a corner-format crop box "
                                    f"[x0, y0, x1, y1] with x1 > x0 and y1 > y0")
        elif box_source == "bbox":
            raise DataPrepError(f"{path}: entry {i} has no 'bbox' (box_source='bbox')")
        else:
            img = gt.images[image_id]
            pt1, pt2 = enlarge_boxes(keypoint_boxes(full), img.get("width", np.inf),
                                     img.get("height", np.inf))
            box = np.concatenate([pt1[0].numpy(), pt2[0].numpy()]).astype(np.float64)
        grouped.setdefault(image_id, []).append((joints, float(score), box))
    return {
        image_id: InitialPoses(np.stack([j for j, _, _ in items]), np.array([s for _, s, _ in items]),
                             np.stack([b for _, _, b in items]))
        for image_id, items in grouped.items()
    }


def detections_from_pipeline(pipeline, gt: KeypointFile, image_dir: str | Path,
                             progress=None) -> dict[int, InitialPoses]:
    """Run detector + SPPE + pose NMS (``pipeline.estimate_initial``) on every GT image.

    ``progress`` wraps the image-id iterable (e.g. tqdm). Unreadable images raise DataPrepError.
    """
    import cv2

    image_dir = Path(image_dir)
    ids = sorted(gt.images)
    result = {}
    for image_id in (progress(ids) if progress else ids):
        file = image_dir / gt.images[image_id]["file_name"]
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise DataPrepError(f"{file}: cannot read image (listed in {gt.path.name})")
        persons = pipeline.estimate_initial(image)
        if not persons:
            continue
        joints17 = np.stack([p["keypoints"] for p in persons]).astype(np.float64)
        result[image_id] = InitialPoses(joints17[:, list(TO_OPEC12["coco"])],
                                      np.array([p["score"] for p in persons], dtype=np.float64),
                                      np.stack([p["bbox"] for p in persons]).astype(np.float64))
    return result


def build_training_pairs(gt: KeypointFile, detections: dict[int, InitialPoses],
                         rule: MatchingRule) -> tuple[list[dict], dict[str, int]]:
    """Training file content (docs/datasets.md) and counts {'images', 'gt_persons', 'matchable',
    'pairs'}. Images are in ascending id order; images with no pair are left out (the original
    collate cannot handle an empty pair list)."""
    out = []
    counts = dict(images=0, gt_persons=0, matchable=0, pairs=0)
    for image_id in sorted(gt.images):
        annotations = gt.annotations.get(image_id, [])
        gts = gt_joints12(annotations, gt.joint_set)
        valid = np.array([not a.get("iscrowd", 0) for a in annotations], dtype=bool)
        valid &= (gts[..., 2] > 0).sum(-1) >= rule.min_gt_joints
        counts["gt_persons"] += len(annotations)
        counts["matchable"] += int(valid.sum())
        det = detections.get(image_id)
        if det is None or not valid.any():
            continue
        oks = oks_matrix(det.joints12[..., :2], gts, gt_oks_scale(annotations))
        pairs = [
            dict(score=float(det.scores[d]), yolo_bbox=_floats(det.crop_boxes[d]),
                 gt=[_floats(j) for j in gts[g]], dt=[_floats(j) for j in det.joints12[d]])
            for d, g, _ in match_greedy(oks, det.scores, valid, rule)
        ]
        if pairs:
            out.append(dict(img_name=gt.images[image_id]["file_name"], pair=pairs))
            counts["images"] += 1
            counts["pairs"] += len(pairs)
    return out, counts


def build_test_predictions(gt: KeypointFile, detections: dict[int, InitialPoses],
                           min_score: float = 0.0) -> list[dict]:
    """Results entries (docs/datasets.md): every initial pose with score >= min_score; ``image_id``
    is the GT file name, ``keypoints`` 36 floats, ``bbox`` the corner-format crop box."""
    out = []
    for image_id in sorted(detections):
        det = detections[image_id]
        name = gt.images[image_id]["file_name"]
        for d in np.flatnonzero(det.scores >= min_score):
            out.append(dict(image_id=name, category_id=1,
                            keypoints=_floats(det.joints12[d].reshape(-1)),
                            score=float(det.scores[d]), bbox=_floats(det.crop_boxes[d])))
    return out


def _resolve_image_id(value, gt: KeypointFile) -> int | None:
    if isinstance(value, str):
        if value in gt.ids_by_file_name:
            return gt.ids_by_file_name[value]
        stem = value.rsplit(".", 1)[0]
        value = int(stem) if stem.isdigit() else None
    if isinstance(value, (int, np.integer)) and int(value) in gt.images:
        return int(value)
    return None


def _finite(values, where: str) -> np.ndarray:
    """``values`` as a float64 array of finite numbers, else DataPrepError naming ``where``."""
    try:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        array = None
    if array is None or not np.isfinite(array).all():
        raise DataPrepError(f"{where}: expected finite numbers")
    return array


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values).reshape(-1)]


def _read_json(path: Path):
    return read_json(path, "a JSON file", DataPrepError)
