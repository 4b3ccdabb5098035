"""Greedy detection-to-GT matching of the COCO keypoint evaluators, for all images at once.

Per image and OKS threshold t, detections in descending score order (ties in file order, at most
20 per image) each take the still-unmatched GT with the highest OKS >= t (ties: the later GT in
the evaluators' GT order); non-ignored GTs come first and are preferred: an ignored GT (crowd,
no labelled joints) is taken only when no non-ignored one qualifies; a crowd GT can absorb any
number of detections. A detection matched to an ignored GT is ignored (neither TP nor FP).
Rules: docs/evaluation.md; the result is the evaluators' per-image matching, which
:mod:`opec.analysis.precision` accumulates into AP.

Instead of a Python loop per image, the loop runs over the detection rank (0..19): at rank r
every image's r-th detection is matched, for all thresholds, with segment reductions over the
flat pair list of :class:`~opec.analysis.scene.Scene`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opec.analysis.scene import MAX_DETS, Scene

OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # the evaluators' 0.50:0.05:0.95
_BELOW_ONE = 1 - 1e-10  # the evaluators cap the threshold just below 1


@dataclass
class Matching:
    """``kept`` (D,): the detection counts (top 20 of its image by score, not removed).
    ``rank`` (D,): its position by descending score in its image (among the not removed).
    ``gt`` (T, D): matched GT index per threshold, -1 when unmatched (or not kept).
    ``ignored`` (T, D): the detection is ignored at that threshold."""

    thresholds: np.ndarray
    kept: np.ndarray
    rank: np.ndarray
    gt: np.ndarray
    ignored: np.ndarray


def score_rank(group: np.ndarray, scores: np.ndarray, active: np.ndarray) -> np.ndarray:
    """(D,) rank of each active detection by descending score within its group (ties in file
    order); inactive detections get a rank past every active one."""
    n = len(scores)
    order = np.lexsort((np.arange(n), -scores, ~active, group))
    _, starts, counts = np.unique(group[order], return_index=True, return_counts=True)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - np.repeat(starts, counts)
    return np.where(active, rank, n + 1)


def greedy_match(scene: Scene, thresholds=OKS_THRESHOLDS, *, scores: np.ndarray | None = None,
                 oks: np.ndarray | None = None, gt_ignore: np.ndarray | None = None,
                 removed: np.ndarray | None = None, outside: np.ndarray | None = None) -> Matching:
    """Match the detections of ``scene`` to its GTs at each threshold.

    Args:
        thresholds: (T,) OKS thresholds.
        scores: (D,) detection scores (default the file's). oks: (P,) OKS per scene pair
            (default the file's). gt_ignore: (G,) ignore flags (default crowd / no joints).
        removed: (D,) detections taken out of the results (they do not count at all).
        outside: (D,) detections ignored when left unmatched (a slice they do not belong to,
            as the evaluators' area ranges do).
    """
    truth = scene.truth
    thresholds = np.minimum(np.asarray(thresholds, dtype=np.float64), _BELOW_ONE)
    n_t, n_dt = len(thresholds), scene.num_detections
    scores = scene.scores if scores is None else scores
    oks = scene.oks if oks is None else oks
    gt_ignore = truth.ignore if gt_ignore is None else gt_ignore
    active = np.ones(n_dt, dtype=bool) if removed is None else ~removed
    rank = score_rank(scene.group, scores, active)
    kept = rank < MAX_DETS

    matched = np.full((n_t, n_dt), -1, dtype=np.int64)
    pairs = np.flatnonzero(kept[scene.pair_dt])
    pair_dt, pair_gt = scene.pair_dt[pairs], scene.pair_gt[pairs]
    # Rank, then image, then the evaluators' GT order (non-ignored first, file order).
    order = np.lexsort((pair_gt, gt_ignore[pair_gt], scene.group[pair_dt], rank[pair_dt]))
    pairs, pair_dt, pair_gt = pairs[order], pair_dt[order], pair_gt[order]
    rank_starts = np.searchsorted(rank[pair_dt], np.arange(MAX_DETS + 1))
    # One integer key per pair orders the candidates as the evaluators' scan does: any non-ignored
    # GT before any ignored one, then the higher OKS (the bit pattern of a non-negative float
    # orders like the float itself); ties go to the later GT (below).
    values = oks[pairs]
    preference = np.maximum(values, 0.0).view(np.int64) | (~gt_ignore[pair_gt]).astype(np.int64) << 62
    qualifies = values[None, :] >= thresholds[:, None]  # (T, P)
    available = np.ones((n_t, len(truth.ignore)), dtype=bool)
    absorbs = truth.crowd  # a crowd GT stays available after a match
    for r in range(MAX_DETS):
        a, b = rank_starts[r], rank_starts[r + 1]
        if a == b:
            continue
        dts, gts = pair_dt[a:b], pair_gt[a:b]
        starts = np.flatnonzero(np.r_[True, dts[1:] != dts[:-1]])
        key = np.where(available[:, gts] & qualifies[:, a:b], preference[a:b], -1)
        best = np.maximum.reduceat(key, starts, axis=1)  # (T, detections of rank r)
        lengths = np.diff(np.r_[starts, b - a])
        hit = (key == np.repeat(best, lengths, axis=1)) & (key >= 0)
        last = np.maximum.reduceat(np.where(hit, np.arange(b - a), -1), starts, axis=1)
        gt_choice = np.where(last >= 0, gts[np.maximum(last, 0)], -1)
        matched[:, dts[starts]] = gt_choice
        t_idx, d_idx = np.nonzero(gt_choice >= 0)
        taken = gt_choice[t_idx, d_idx]
        stays = absorbs[taken]
        available[t_idx[~stays], taken[~stays]] = False
    ignored = (matched >= 0) & gt_ignore[np.maximum(matched, 0)]
    if outside is not None:
        ignored |= (matched < 0) & outside[None, :]
    return Matching(thresholds, kept, rank, matched, ignored)
