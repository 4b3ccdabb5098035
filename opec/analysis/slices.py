"""Occlusion slices: crowd level of the image, overlap of the GT person, joint visibility.

* **crowd level** (images, where the GT has ``images[].crowdIndex``): easy < 0.2 <= medium < 0.8
  <= hard, the CrowdPose API's split (:data:`opec.evaluation.keypoint_ap.CROWD_SPLIT`).
* **overlap** (GT persons): the number of other non-crowd annotated persons of the same image whose
  box IoU with the person's box exceeds 0.1: ``0``, ``1-2``, ``>=3``.
* **visibility** (GT joints): the labelled-joint flag v (COCO convention: 1 labelled but occluded,
  2 visible), when the GT uses more than one non-zero value.
"""
from __future__ import annotations

import numpy as np

from opec.analysis.scene import Truth
from opec.evaluation.keypoint_ap import CROWD_SPLIT

CROWD_LEVELS = ("easy", "medium", "hard")
OVERLAP_LEVELS = ("0", "1-2", ">=3")
OVERLAP_IOU = 0.1
VISIBILITY_NAMES = {1: "v=1 (occluded)", 2: "v=2 (visible)"}


def crowd_levels(truth: Truth) -> dict[str, np.ndarray]:
    """{level: (image ids of that level)}, empty when the GT has no crowdIndex."""
    crowd_index = truth.gt.crowd_index
    if crowd_index is None:
        return {}
    ids = truth.gt.image_ids
    easy, medium = CROWD_SPLIT
    level = np.select([crowd_index < easy, crowd_index < medium], [0, 1], 2)
    return {name: ids[level == i] for i, name in enumerate(CROWD_LEVELS)}


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise IoU of (N, 4) x, y, w, h boxes ``a`` and ``b`` (0 for an empty union)."""
    w = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    h = np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def overlap_counts(truth: Truth) -> np.ndarray:
    """(G,) number of other non-crowd GTs of the same image with box IoU > 0.1."""
    gt = truth.gt
    order = np.argsort(gt.image_index, kind="stable")
    _, starts, counts = np.unique(gt.image_index[order], return_index=True, return_counts=True)
    sizes = counts ** 2
    group = np.repeat(np.arange(len(counts)), sizes)
    within = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    first = order[starts[group] + within // counts[group]]
    second = order[starts[group] + within % counts[group]]
    other = (first != second) & ~truth.crowd[second]
    first, second = first[other], second[other]
    overlapping = box_iou_xywh(gt.boxes[first], gt.boxes[second]) > OVERLAP_IOU
    return np.bincount(first[overlapping], minlength=len(gt.image_index))


def overlap_levels(truth: Truth) -> dict[str, np.ndarray]:
    """{level: (G,) bool mask of the GT persons with that many overlapping persons}."""
    count = overlap_counts(truth)
    return {"0": count == 0, "1-2": (count >= 1) & (count <= 2), ">=3": count >= 3}


def visibility_levels(truth: Truth) -> dict[str, np.ndarray]:
    """{name: (G, K) bool mask of the GT joints with that flag}, empty unless the labelled joints
    use more than one flag value."""
    flags = truth.gt.keypoints[:, :, 2]
    values = np.unique(flags[flags > 0])
    if len(values) < 2:
        return {}
    return {VISIBILITY_NAMES.get(int(v), f"v={v:g}"): flags == v for v in values}
