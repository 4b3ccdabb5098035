"""Precision at 101 recall points and final recall, as pycocotools' ``accumulate`` computes them.

Detections of the evaluated images, already matched (``matching.py``), are taken in descending
score order (a stable sort over the detections listed image by image, best first within an image,
so ties keep image-id then results-file order); the running true- and false-positive counts give
recall = TP / #non-ignored GT and precision = TP / (TP + FP + eps); precision is made
non-increasing from the right and read at the first detection reaching each recall point 0, 0.01,
..., 1 (0 past the reached recall). Ignored detections stay in the sequence, as in the reference.
Arrays are -1 where there is no non-ignored GT.
"""
from __future__ import annotations

import numpy as np

from opec.evaluation.matching import FALSE_POSITIVE, TRUE_POSITIVE

# pycocotools' parameters: OKS thresholds .50:.05:.95 and recall points 0:.01:1 (same linspace calls).
OKS_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
RECALL_POINTS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


def precision_recall(status: np.ndarray, positives: int) -> tuple[np.ndarray, np.ndarray]:
    """Precision (T, R) and recall (T,) of detections in descending score order.

    Args:
        status: (T, N) int8 :data:`TRUE_POSITIVE` / :data:`FALSE_POSITIVE` / ignored per threshold.
        positives: number of non-ignored GTs.
    Returns:
        precision (T, 101) and recall (T,); all -1 when ``positives`` is 0.
    """
    thresholds, count = status.shape
    precision = -np.ones((thresholds, len(RECALL_POINTS)))
    recall = -np.ones(thresholds)
    if positives == 0:
        return precision, recall
    # Only the true positives matter: recall rises there, and the precision of any later point is
    # at most that of the last true positive before it (same TP count, no fewer FPs). So the
    # first point reaching a recall r is the k-th true positive, k the least count with
    # k / positives >= r, and the precision read there is the best precision of the true
    # positives from the k-th on (the same float values as over all points).
    is_tp = status == TRUE_POSITIVE
    false_positives = np.cumsum(status == FALSE_POSITIVE, axis=1, dtype=np.int32)
    needed = np.maximum(np.searchsorted(np.arange(positives + 1) / positives, RECALL_POINTS, side="left"), 1)
    for t in range(thresholds):
        at = np.flatnonzero(is_tp[t])
        found = len(at)
        recall[t] = found / positives
        tp = np.arange(1, found + 1, dtype=np.float64)
        best = np.maximum.accumulate((tp / (false_positives[t, at] + tp + np.spacing(1)))[::-1])[::-1]
        precision[t] = np.where(needed <= found, best[np.minimum(needed, found) - 1], 0.0) if found else 0.0
    return precision, recall
