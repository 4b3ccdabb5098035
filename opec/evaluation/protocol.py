"""OPEC-Net's test protocol pieces (docs/training.md), as pure functions.

* :func:`replace_low_confidence` -- only joints whose AlphaPose confidence is below 0.2 take the
  refiner's coordinates; every score stays as it was.
* :func:`transplant_best_match` -- each refined person replaces the keypoints of the "best match"
  entry of the same image whose corner-format box IoU with it is the largest, when that IoU > 0.9.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from opec.evaluation.inputs import EvaluationError, image_id_from

# Joints whose initial (SPPE) score is below this take the refined coordinates.
REPLACE_THRESHOLD = 0.2
# A refined person replaces the best-match entry whose box IoU with it is the largest, above this.
BEST_MATCH_IOU = 0.9


def replace_low_confidence(initial: np.ndarray, refined_xy: np.ndarray,
                           threshold: float = REPLACE_THRESHOLD) -> np.ndarray:
    """Joints of ``initial`` with score < ``threshold`` take the refined x, y.

    Args:
        initial: (P, J, 3) image-pixel x, y and the SPPE joint confidence.
        refined_xy: (P, J, 2) refined x, y in image pixels.
    Returns:
        A new (P, J, 3) array: x, y replaced where score < threshold; scores unchanged.
    """
    initial = np.asarray(initial)
    refined_xy = np.asarray(refined_xy)
    if initial.ndim != 3 or initial.shape[-1] != 3 or refined_xy.shape != initial.shape[:-1] + (2,):
        raise ValueError(f"expected initial (P, J, 3) and refined_xy (P, J, 2), got {initial.shape} "
                         f"and {refined_xy.shape}")
    out = initial.astype(np.result_type(initial, refined_xy), copy=True)
    low = out[..., 2] < threshold
    out[..., :2] = np.where(low[..., None], refined_xy, out[..., :2])
    return out


def box_iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of corner-format boxes (x1, y1, x2, y2), no +1: (N, 4) x (M, 4) -> (N, M).

    Boxes that do not overlap (or have a zero union) get 0.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _image_key(value):
    """Group key for an image id: 103319 and "103319.jpg" are the same image."""
    try:
        return image_id_from(value, "", "")
    except EvaluationError:
        return value


def _flat(keypoints) -> list[float]:
    """(J, 3) array or flat list -> a new flat list of floats (result-file form)."""
    return np.asarray(keypoints, dtype=np.float64).reshape(-1).tolist()


def transplant_best_match(refined: list[dict], best_match: list[dict],
                          iou_threshold: float = BEST_MATCH_IOU) -> list[dict]:
    """Put refined poses into the best-match result list.

    Args:
        refined: result dicts with ``image_id``, ``bbox`` (x1, y1, x2, y2) and ``keypoints``.
        best_match: result dicts of the same form (upstream's ``pred_test_best_match.json``).
        iou_threshold: a refined person replaces its argmax-IoU entry when that IoU is > this.
    Returns:
        New dicts, one per ``best_match`` entry in its order; matched entries carry the refined
        person's keypoints (a flat list), all others keep theirs. When two refined persons pick the
        same entry, the later one wins (the original writes them in order). Images with no
        best-match entries, or no refined person, are fine. Inputs are not modified.
    """
    out = [{**entry, "keypoints": _flat(entry["keypoints"])} for entry in best_match]
    by_image: dict = defaultdict(list)
    for index, entry in enumerate(best_match):
        by_image[_image_key(entry["image_id"])].append(index)
    refined_by_image: dict = defaultdict(list)
    for person in refined:
        refined_by_image[_image_key(person["image_id"])].append(person)

    for image, persons in refined_by_image.items():
        candidates = by_image.get(image)
        if not candidates:
            continue
        iou = box_iou_xyxy([p["bbox"] for p in persons], [best_match[i]["bbox"] for i in candidates])
        best = iou.argmax(axis=1)
        for person, column, value in zip(persons, best, iou[np.arange(len(persons)), best]):
            if value > iou_threshold:
                out[candidates[column]]["keypoints"] = _flat(person["keypoints"])
    return out
