"""Per-image greedy matching of the COCO keypoint protocol, for all images and thresholds at once.

The rules are pycocotools' ``evaluateImg`` (docs/evaluation.md, "Rules"): in every image (and
category) the detections, best score first, each take at every OKS threshold t the GT with the
highest OKS >= t among those still free -- non-ignored GTs first; only when none qualifies an
ignored one (a crowd GT stays free after a match); on an exact OKS tie the GT later in the file
wins. A detection matched to an ignored GT is ignored; an unmatched detection whose area lies
outside the area range is ignored; the others are true or false positives.

The matching works on the candidate pairs only -- (detection, GT, ignore set, threshold) with
OKS >= the threshold -- listed once, each detection's candidates in its preference order
(non-ignored first, then descending OKS, ties to the later GT). Images are processed together
and the loop runs over detection rank 0..19 only: at rank r every image's rank-r detection takes,
per ignore set and threshold, its first candidate GT that is still free. The work is proportional
to the number of candidate pairs.
"""
from __future__ import annotations

import numpy as np

TRUE_POSITIVE, FALSE_POSITIVE, IGNORED = 1, 0, 2


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of ``counts`` items: (owner segment of each item, its position in the segment)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)


def match_images(pair_oks: np.ndarray, dt_start: np.ndarray, n_dt: np.ndarray, gt_start: np.ndarray,
                 n_gt: np.ndarray, gt_ignored: np.ndarray, gt_crowd: np.ndarray, dt_outside: np.ndarray,
                 thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Match every detection at every threshold and area range.

    Detections are in group order (a group = one image and category), best score first within a
    group, at most 20 per group; GTs are in group order, file order within a group.

    Args:
        pair_oks: OKS of every group holding detections and GTs, group after group, each as its
            (n_dt, n_gt) matrix flattened row by row.
        dt_start, n_dt, gt_start, n_gt: (N,) first detection / GT of those groups and their counts.
        gt_ignored: (A, G) ignore flag of every GT per area range (or slice). gt_crowd: (G,).
        dt_outside: (A, D) the detection's area lies outside the area range.
        thresholds: (T,) OKS thresholds.
    Returns:
        (A, T, D) int8: :data:`TRUE_POSITIVE`, :data:`FALSE_POSITIVE` or :data:`IGNORED`; and
        (A, T, D) int64: the matched GT (its position in the GT order), -1 when unmatched.
    """
    sets, n_t, n_d = gt_ignored.shape[0], len(thresholds), dt_outside.shape[1]
    status = np.zeros((sets, n_t, n_d), dtype=np.int8)
    matched_gt = np.full(status.shape, -1, dtype=np.int64)
    limit = np.minimum(thresholds, 1 - 1e-10)  # pycocotools' starting "best OKS so far"
    # The pairs that reach the lowest threshold: detection (position), rank in its group, GT.
    group, within = ragged(n_dt * n_gt)
    near = np.flatnonzero(pair_oks >= limit.min()) if n_t else np.zeros(0, dtype=np.int64)
    group, within, oks = group[near], within[near], pair_oks[near]
    rank, column = within // n_gt[group], within % n_gt[group]
    dt, gt = dt_start[group] + rank, gt_start[group] + column
    # Per ignore set s, the pairs by detection then preference: non-ignored first, descending OKS,
    # the later GT first on a tie; then per threshold those reaching it (order kept): candidates
    # listed by (s, t, detection) in preference order.
    by_preference = np.lexsort((-column, -oks, dt))
    pair, cand_set, cand_t = [], [], []
    for s in range(sets):
        order = by_preference[np.argsort(gt_ignored[s, gt[by_preference]], kind="stable")]
        order = order[np.argsort(dt[order], kind="stable")]
        t, i = np.nonzero(oks[order][None, :] >= limit[:, None])
        pair.append(order[i])
        cand_set.append(np.full(len(i), s))
        cand_t.append(t)
    pair, cand_set, cand_t = np.concatenate(pair), np.concatenate(cand_set), np.concatenate(cand_t)
    # Candidates rank by rank (order within a rank kept).
    by_rank = np.argsort(rank[pair].astype(np.int16), kind="stable")
    pair, cand_set, cand_t = pair[by_rank], cand_set[by_rank], cand_t[by_rank]
    cand_gt = gt[pair]
    outcome = (cand_set * n_t + cand_t) * n_d + dt[pair]       # flat index into status
    slot = (cand_gt * sets + cand_set) * n_t + cand_t          # flat index into taken (G, A, T)
    crowd = gt_crowd[cand_gt]
    kind = np.where(gt_ignored[cand_set, cand_gt], IGNORED, TRUE_POSITIVE).astype(np.int8)
    taken = np.zeros(len(gt_crowd) * sets * n_t, dtype=bool)
    bounds = np.searchsorted(rank[pair], np.arange(int(n_dt.max(initial=0)) + 1))
    for r in range(len(bounds) - 1):
        candidates = np.arange(bounds[r], bounds[r + 1])
        free = candidates[~taken[slot[candidates]] | crowd[candidates]]
        # Each (set, threshold, detection)'s first free candidate: its match.
        key = outcome[free]
        chosen = free[np.r_[True, key[1:] != key[:-1]]] if len(free) else free
        taken[slot[chosen]] = True
        status.flat[outcome[chosen]] = kind[chosen]
        matched_gt.flat[outcome[chosen]] = cand_gt[chosen]
    # 1 -> true positive, 2 -> ignored; unmatched: a false positive, or ignored outside the area range.
    status[(status == 0) & dt_outside[:, None, :]] = IGNORED
    return status, matched_gt
