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
BLOCK = 8192  # detections x thresholds per step of precision_recall


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
    recall[:] = 0.0
    precision[:] = 0.0
    # A few thresholds at a time: the temporaries stay small (cached memory, no page faults).
    step = max(1, BLOCK // max(count, 1))
    for first in range(0, thresholds, step):
        rows = slice(first, first + step)
        tp = np.cumsum(status[rows] == TRUE_POSITIVE, axis=1).astype(np.float64)
        fp = np.cumsum(status[rows] == FALSE_POSITIVE, axis=1).astype(np.float64)
        rc = tp / positives
        pr = tp / (fp + tp + np.spacing(1))
        envelope = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
        if count:
            recall[rows] = rc[:, -1]
        for i, t in enumerate(range(first, min(first + step, thresholds))):
            reached = np.searchsorted(rc[i], RECALL_POINTS, side="left")
            inside = reached < count
            precision[t, inside] = envelope[i, reached[inside]]
    return precision, recall
