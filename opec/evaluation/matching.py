"""Per-image greedy matching of the COCO keypoint protocol, for all images and thresholds at once.

The rules are pycocotools' ``evaluateImg`` (docs/evaluation.md, "Rules"): in every image (and
category) the detections, best score first, each take at every OKS threshold t the GT with the
highest OKS >= t among those still free -- non-ignored GTs first; only when none qualifies an
ignored one (a crowd GT stays free after a match); on an exact OKS tie the GT later in the file
wins. A detection matched to an ignored GT is ignored; an unmatched detection whose area lies
outside the area range is ignored; the others are true or false positives.

Images are processed together: they are bucketed by their number of GTs (rounded up to a power of
two) into padded (images, detections, GTs) OKS arrays, and the loop runs over detection rank
0..19 only, each step handling every image that has a detection of that rank at all 10
thresholds. The work is proportional to the number of (detection, GT) pairs.
"""
from __future__ import annotations

import numpy as np

TRUE_POSITIVE, FALSE_POSITIVE, IGNORED = 1, 0, 2


def match_groups(oks: np.ndarray, n_dt: np.ndarray, gt_ignored: np.ndarray, gt_crowd: np.ndarray,
                 thresholds: np.ndarray) -> np.ndarray:
    """Greedy matching in groups of equal padded size.

    For each detection the group's GTs are put in preference order -- non-ignored first, then by
    descending OKS, ties to the later GT -- so at every threshold its match is simply the first GT
    in that order that is free (not taken, or crowd) with OKS >= the threshold.

    Args:
        oks: (N, Dmax, Gmax) OKS of each group's detections (best score first) with its GTs (file
            order); padding holds -1 (never a match).
        n_dt: (N,) detections per group, sorted in descending order.
        gt_ignored, gt_crowd: (N, Gmax) bool per GT.
        thresholds: (T,) OKS thresholds.
    Returns:
        matched: (N, T, Dmax) int8, 0 unmatched, 1 matched to a non-ignored GT, 2 to an ignored GT.
    """
    groups, depth, width = oks.shape
    limit = np.minimum(thresholds, 1 - 1e-10)[None, :, None]
    taken = np.zeros((groups, len(thresholds), width), dtype=bool)
    matched = np.zeros((groups, len(thresholds), depth), dtype=np.int8)
    later_first = -np.arange(width)
    for rank in range(depth):
        active = int(np.count_nonzero(n_dt > rank))  # n_dt is sorted: the first ``active`` groups
        row = oks[:active, rank, :]                                               # (active, Gmax)
        ignored = gt_ignored[:active]
        order = np.lexsort((np.broadcast_to(later_first, row.shape), -row, ignored), axis=-1)
        free = ~taken[:active] | gt_crowd[:active, None, :]                       # (active, T, Gmax)
        candidate = np.take_along_axis(free, order[:, None, :], axis=2)
        candidate &= np.take_along_axis(row, order, axis=1)[:, None, :] >= limit
        pick = candidate.argmax(axis=2)                                           # first candidate
        g, t = np.nonzero(np.take_along_axis(candidate, pick[:, :, None], axis=2)[:, :, 0])
        column = order[g, pick[g, t]]
        taken[g, t, column] = True
        matched[g, t, rank] = np.where(ignored[g, column], 2, 1)
    return matched


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of ``counts`` items: (owner segment of each item, its position in the segment)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)


def match_images(pair_oks: np.ndarray, dt_start: np.ndarray, n_dt: np.ndarray, gt_start: np.ndarray,
                 n_gt: np.ndarray, gt_ignored: np.ndarray, gt_crowd: np.ndarray, dt_outside: np.ndarray,
                 thresholds: np.ndarray) -> np.ndarray:
    """Match every detection at every threshold and area range.

    Detections are in group order (a group = one image and category), best score first within a
    group, at most 20 per group; GTs are in group order, file order within a group.

    Args:
        pair_oks: OKS of every group holding detections and GTs, group after group, each as its
            (n_dt, n_gt) matrix flattened row by row.
        dt_start, n_dt, gt_start, n_gt: (N,) first detection / GT of those groups and their counts.
        gt_ignored: (A, G) ignore flag of every GT per area range. gt_crowd: (G,).
        dt_outside: (A, D) the detection's area lies outside the area range.
        thresholds: (T,) OKS thresholds.
    Returns:
        (A, T, D) int8: :data:`TRUE_POSITIVE`, :data:`FALSE_POSITIVE` or :data:`IGNORED`.
    """
    status = np.zeros((gt_ignored.shape[0], len(thresholds), dt_outside.shape[1]), dtype=np.int8)
    sizes = n_dt * n_gt
    pair_start = np.cumsum(sizes) - sizes
    widths = np.ones_like(n_gt) if not len(n_gt) else 1 << np.ceil(np.log2(n_gt)).astype(np.int64)
    for width in np.unique(widths):
        members = np.flatnonzero(widths == width)
        members = members[np.argsort(-n_dt[members], kind="stable")]
        m_dt, m_gt = n_dt[members], n_gt[members]
        oks = np.full((len(members), int(m_dt[0]), int(width)), -1.0)
        group, within = ragged(sizes[members])
        oks[group, within // m_gt[group], within % m_gt[group]] = pair_oks[pair_start[members][group] + within]
        g_group, g_col = ragged(m_gt)
        g_src = gt_start[members][g_group] + g_col
        crowd = np.zeros((len(members), int(width)), dtype=bool)
        crowd[g_group, g_col] = gt_crowd[g_src]
        d_group, d_rank = ragged(m_dt)
        d_src = dt_start[members][d_group] + d_rank
        for area in range(len(status)):
            ignored = np.zeros_like(crowd)
            ignored[g_group, g_col] = gt_ignored[area, g_src]
            matched = match_groups(oks, m_dt, ignored, crowd, thresholds)
            status[area][:, d_src] = matched[d_group, :, d_rank].T
    # 1 -> true positive, 2 -> ignored; unmatched: a false positive, or ignored outside the area range.
    status[(status == 0) & dt_outside[:, None, :]] = IGNORED
    return status
