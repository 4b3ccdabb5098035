"""Accumulating matched detections into precision / recall and AP, as the COCO evaluators do.

Per category: the kept detections of all images in descending score order (a stable sort over
the images in id order, each image's detections in their rank order), cumulative TP / FP over the
non-ignored ones, recall = TP / number of non-ignored GTs, precision made non-increasing from
the right and read at the 101 recall points 0:0.01:1 (0 past the last recall reached). A
category without non-ignored GTs has precision -1. AP = mean over thresholds, recall points and
categories of the entries > -1; AP50 / AP75 the same at one threshold. CrowdPose's
easy / medium / hard values are the plain mean including -1 entries (docs/evaluation.md).
"""
from __future__ import annotations

import numpy as np

from opec.analysis.matching import Matching
from opec.analysis.scene import Scene

RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def precision_array(scene: Scene, matching: Matching, scores: np.ndarray | None = None,
                    dt_select: np.ndarray | None = None, gt_ignore: np.ndarray | None = None,
                    gt_select: np.ndarray | None = None) -> np.ndarray:
    """Precision (T, 101, C) over the detections ``dt_select`` (D,) and the GTs ``gt_select`` (G,)
    (default all), ``gt_ignore`` (G,) as used for the matching."""
    truth = scene.truth
    scores = scene.scores if scores is None else scores
    gt_ignore = truth.ignore if gt_ignore is None else gt_ignore
    counted = ~gt_ignore if gt_select is None else ~gt_ignore & gt_select
    use = matching.kept if dt_select is None else matching.kept & dt_select
    n_cat = truth.num_categories
    n_t = len(matching.thresholds)
    precision = -np.ones((n_t, len(RECALL_POINTS), n_cat))
    dt_cat = scene.group % n_cat
    gt_cat = truth.group % n_cat
    order = np.flatnonzero(use)
    # Descending score, ties: earlier image, then rank in the image (the evaluators' mergesort).
    order = order[np.lexsort((matching.rank[order], scene.group[order], -scores[order]))]
    for c in range(n_cat):
        n_pos = int(np.count_nonzero(counted & (gt_cat == c)))
        if n_pos == 0:
            continue
        dts = order[dt_cat[order] == c]
        precision[:, :, c] = _curve(matching.gt[:, dts] >= 0, matching.ignored[:, dts], n_pos)
    return precision


def _curve(matched: np.ndarray, ignored: np.ndarray, n_pos: int) -> np.ndarray:
    """(T, 101) interpolated precision from (T, N) matched / ignored flags in score order."""
    tp = np.cumsum(matched & ~ignored, axis=1).astype(float)
    fp = np.cumsum(~matched & ~ignored, axis=1).astype(float)
    out = np.zeros((matched.shape[0], len(RECALL_POINTS)))
    if matched.shape[1] == 0:
        return out
    recall = tp / n_pos
    # TP / (TP + FP), 0 before the first counted detection: what the evaluator's core computes
    # (pycocotools adds eps to the denominator, which differs only when TP + FP = 1).
    counted = tp + fp
    precision = np.divide(tp, counted, out=np.zeros_like(tp), where=counted > 0)
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    for t in range(matched.shape[0]):
        index = np.searchsorted(recall[t], RECALL_POINTS, side="left")
        valid = index < len(recall[t])
        out[t, :np.count_nonzero(valid)] = precision[t, index[valid]]
    return out


def _threshold(thresholds: np.ndarray, value: float) -> int:
    return int(np.flatnonzero(np.isclose(thresholds, value))[0])


def _mean_valid(values: np.ndarray) -> float:
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def ap_metrics(precision: np.ndarray, thresholds: np.ndarray) -> dict[str, float]:
    """AP, AP50, AP75 from a (T, 101, C) precision array (mean of the entries > -1)."""
    return {"AP": _mean_valid(precision), "AP50": _mean_valid(precision[_threshold(thresholds, 0.5)]),
            "AP75": _mean_valid(precision[_threshold(thresholds, 0.75)])}


def crowd_subset_ap(precision: np.ndarray) -> float:
    """The CrowdPose API's easy / medium / hard value: the plain mean, -1 entries included."""
    return float(np.mean(precision))
