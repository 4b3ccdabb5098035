"""Greedy detection-to-GT matching of the COCO keypoint evaluators, for all images at once.

Per image and OKS threshold t, detections in descending score order (ties in file order, at most
20 per image) each take the still-unmatched GT with the highest OKS >= t (ties: the later GT in
the evaluators' GT order); non-ignored GTs come first and are preferred: an ignored GT (crowd,
no labelled joints) is taken only when no non-ignored one qualifies; a crowd GT can absorb any
number of detections. A detection matched to an ignored GT is ignored (neither TP nor FP).
Rules: docs/evaluation.md; the result is the evaluators' per-image matching, which
:mod:`opec.analysis.precision` accumulates into AP.

Instead of a Python loop per image, the loop runs over the detection rank (0..19): at rank r
every image's r-th detection is matched, for all thresholds at once, with segment reductions over
the flat pair list of :class:`~opec.analysis.scene.Scene`. Several sets of ignore flags (slices)
can be matched in the same pass: they are just more columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opec.analysis.scene import MAX_DETS, Scene

OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)  # the evaluators' 0.50:0.05:0.95
_BELOW_ONE = 1 - 1e-10  # the evaluators cap the threshold just below 1
_NON_IGNORED = np.int64(1) << 62  # above the bit pattern of any OKS in [0, 1]


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
    return greedy_match_slices(scene, thresholds, scores=scores, oks=oks, removed=removed,
                               gt_ignore=None if gt_ignore is None else gt_ignore[None],
                               outside=None if outside is None else outside[None])[0]


def greedy_match_slices(scene: Scene, thresholds=OKS_THRESHOLDS, *, scores: np.ndarray | None = None,
                        oks: np.ndarray | None = None, gt_ignore: np.ndarray | None = None,
                        removed: np.ndarray | None = None, outside: np.ndarray | None = None) -> list[Matching]:
    """:func:`greedy_match` for S sets of ignore flags at once: ``gt_ignore`` (S, G) and
    ``outside`` (S, D) (default one set: the GT's flags, nothing outside). One Matching per set."""
    truth = scene.truth
    thresholds = np.minimum(np.asarray(thresholds, dtype=np.float64), _BELOW_ONE)
    n_dt = scene.num_detections
    scores = scene.scores if scores is None else scores
    oks = scene.oks if oks is None else oks
    gt_ignore = truth.ignore[None] if gt_ignore is None else gt_ignore
    n_s, n_t = gt_ignore.shape[0], len(thresholds)
    active = np.ones(n_dt, dtype=bool) if removed is None else ~removed
    rank = score_rank(scene.group, scores, active)
    kept = rank < MAX_DETS

    # Pairs of kept detections by rank, then image, then GT file order (the scene's pairs are
    # ordered by image, so the scene position breaks ties). The evaluators scan non-ignored GTs
    # first: that preference is in the key below, so file order is enough here.
    pairs = np.flatnonzero(kept[scene.pair_dt])
    pairs = pairs[np.argsort(rank[scene.pair_dt[pairs]] * len(scene.pair_dt) + pairs)]
    pair_dt, pair_gt = scene.pair_dt[pairs], scene.pair_gt[pairs]
    rank_starts = np.searchsorted(rank[pair_dt], np.arange(MAX_DETS + 1))
    # Column c = slice c // T, threshold c % T. Key: non-ignored before ignored, then the higher
    # OKS (the bit pattern of a non-negative float orders like the float); equal keys go to the
    # later GT (below).
    values = oks[pairs]
    bits = np.maximum(values, 0.0).view(np.int64)
    preference = np.repeat(bits[:, None] | np.where(gt_ignore[:, pair_gt].T, 0, _NON_IGNORED), n_t, axis=1)
    qualifies = np.tile(values[:, None] >= thresholds[None, :], (1, n_s))  # (P, S*T)
    available = np.ones((len(truth.ignore), n_s * n_t), dtype=bool)
    absorbs = truth.crowd  # a crowd GT stays available after a match
    matched = np.full((n_dt, n_s * n_t), -1, dtype=np.int64)
    for r in range(MAX_DETS):
        a, b = rank_starts[r], rank_starts[r + 1]
        if a == b:
            continue
        dts, gts = pair_dt[a:b], pair_gt[a:b]
        starts = np.flatnonzero(np.r_[True, dts[1:] != dts[:-1]])
        key = np.where(available[gts] & qualifies[a:b], preference[a:b], -1)  # (n, S*T)
        best = np.maximum.reduceat(key, starts, axis=0)  # (detections of rank r, S*T)
        segment = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, b - a]))
        hit = (key == best[segment]) & (key >= 0)
        last = np.maximum.reduceat(np.where(hit, np.arange(b - a)[:, None], -1), starts, axis=0)
        choice = np.where(last >= 0, gts[np.maximum(last, 0)], -1)
        matched[dts[starts]] = choice
        d_idx, c_idx = np.nonzero(choice >= 0)
        taken = choice[d_idx, c_idx]
        stays = absorbs[taken]
        available[taken[~stays], c_idx[~stays]] = False

    out = []
    for s in range(n_s):
        gt = np.ascontiguousarray(matched[:, s * n_t:(s + 1) * n_t].T)  # (T, D)
        ignored = (gt >= 0) & gt_ignore[s][np.maximum(gt, 0)]
        if outside is not None:
            ignored |= (gt < 0) & outside[s][None, :]
        out.append(Matching(thresholds, kept, rank, gt, ignored))
    return out
