"""Per-image greedy matching of the COCO keypoint protocol, for all images and thresholds at once.

The rules are pycocotools' ``evaluateImg`` (docs/evaluation.md, "Rules"): in every image (and
category) the detections, best score first, each take at every OKS threshold t the GT with the
highest OKS >= t among those still free -- non-ignored GTs first; only when none qualifies an
ignored one (a crowd GT stays free after a match); on an exact OKS tie the GT later in the file
wins. A detection matched to an ignored GT is ignored; an unmatched detection whose area lies
outside the area range is ignored; the others are true or false positives.

Images are processed together: they are bucketed by their number of GTs (rounded up to a power of
two, the padded width of their OKS rows), and the loop runs over detection rank 0..19 only, each
step handling every image that has a detection of that rank at all 10 thresholds. The work is
proportional to the number of (detection, GT) pairs.
"""
from __future__ import annotations

import numpy as np

TRUE_POSITIVE, FALSE_POSITIVE, IGNORED = 1, 0, 2


def match_groups(rows: list[np.ndarray], gt_ignored: np.ndarray, gt_crowd: np.ndarray,
                 thresholds: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Greedy matching in groups of equal padded width, rank by rank, for S sets of ignore flags.

    For each detection the group's GTs are put in preference order -- non-ignored first, then by
    descending OKS, ties to the later GT -- so at every threshold its match is simply the first GT
    in that order that is free (not taken, or crowd) with OKS >= the threshold.

    Args:
        rows: per detection rank r (0 = best score), (N_r, Gmax) OKS of the rank-r detection of the
            first N_r groups with the group's GTs (file order; padding -1, never a match). Groups
            are sorted by their number of detections, so N_0 >= N_1 >= ...
        gt_ignored: (S, N_0, Gmax) bool per GT, one set of flags per area range (or slice).
        gt_crowd: (N_0, Gmax) bool per GT.
        thresholds: (T,) OKS thresholds.
    Returns:
        per rank, (N_r, S, T) int8: 0 unmatched, 1 matched to a non-ignored GT, 2 to an ignored GT;
        and (N_r, S, T) int64: the matched GT's column, -1 when unmatched.
    """
    sets, groups, width = gt_ignored.shape
    limit = np.minimum(thresholds, 1 - 1e-10)[None, None, :, None]
    taken = np.zeros((groups, sets, len(thresholds), width), dtype=bool)
    later_first = -np.arange(width)
    out = []
    for row in rows:
        active = len(row)
        ignored = gt_ignored[:, :active]                   # (S, active, W)
        shape = ignored.shape
        order = np.lexsort((np.broadcast_to(later_first, shape), np.broadcast_to(-row, shape), ignored), axis=-1)
        preference = np.empty_like(order)                  # position of each GT in the order
        np.put_along_axis(preference, order, np.broadcast_to(np.arange(width), shape), axis=-1)
        preference = preference.transpose(1, 0, 2)[:, :, None, :]  # (active, S, 1, W)
        candidate = (~taken[:active] | gt_crowd[:active, None, None, :]) & (row[:, None, None, :] >= limit)
        best = np.where(candidate, preference, width).argmin(axis=-1)  # (active, S, T)
        g, a, t = np.nonzero(np.take_along_axis(candidate, best[..., None], axis=-1)[..., 0])
        column = best[g, a, t]
        taken[g, a, t, column] = True
        matched = np.zeros(best.shape, dtype=np.int8)
        matched[g, a, t] = np.where(ignored[a, g, column], 2, 1)
        columns = np.full(best.shape, -1, dtype=np.int64)
        columns[g, a, t] = column
        out.append((matched, columns))
    return out


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
        gt_ignored: (A, G) ignore flag of every GT per area range. gt_crowd: (G,).
        dt_outside: (A, D) the detection's area lies outside the area range.
        thresholds: (T,) OKS thresholds.
    Returns:
        (A, T, D) int8: :data:`TRUE_POSITIVE`, :data:`FALSE_POSITIVE` or :data:`IGNORED`; and
        (A, T, D) int64: the matched GT (its position in the GT order), -1 when unmatched.
    """
    status = np.zeros((gt_ignored.shape[0], len(thresholds), dt_outside.shape[1]), dtype=np.int8)
    matched_gt = np.full(status.shape, -1, dtype=np.int64)
    sizes = n_dt * n_gt
    pair_start = np.cumsum(sizes) - sizes
    widths = np.ones_like(n_gt) if not len(n_gt) else 1 << np.ceil(np.log2(n_gt)).astype(np.int64)
    for width in np.unique(widths):
        members = np.flatnonzero(widths == width)
        members = members[np.argsort(-n_dt[members], kind="stable")]
        m_dt, m_gt = n_dt[members], n_gt[members]
        # Per rank r, the OKS rows of the groups' rank-r detections (no padding over ranks).
        group, within = ragged(sizes[members])
        rank, column = within // m_gt[group], within % m_gt[group]
        source = pair_start[members][group] + within
        by_rank = np.argsort(rank, kind="stable")
        bounds = np.searchsorted(rank[by_rank], np.arange(int(m_dt[0]) + 1))
        active = np.count_nonzero(m_dt[None, :] > np.arange(int(m_dt[0]))[:, None], axis=1)
        rows = []
        for r in range(int(m_dt[0])):
            pick = by_rank[bounds[r]:bounds[r + 1]]
            row = np.full((int(active[r]), int(width)), -1.0)
            row[group[pick], column[pick]] = pair_oks[source[pick]]
            rows.append(row)
        g_group, g_col = ragged(m_gt)
        g_src = gt_start[members][g_group] + g_col
        crowd = np.zeros((len(members), int(width)), dtype=bool)
        crowd[g_group, g_col] = gt_crowd[g_src]
        ignored = np.zeros((len(status),) + crowd.shape, dtype=bool)
        ignored[:, g_group, g_col] = gt_ignored[:, g_src]
        for r, (matched, columns) in enumerate(match_groups(rows, ignored, crowd, thresholds)):
            owners = members[:len(matched)]
            status[:, :, dt_start[owners] + r] = matched.transpose(1, 2, 0)
            matched_gt[:, :, dt_start[owners] + r] = np.where(columns >= 0, gt_start[owners, None, None] + columns,
                                                              -1).transpose(1, 2, 0)
    # 1 -> true positive, 2 -> ignored; unmatched: a false positive, or ignored outside the area range.
    status[(status == 0) & dt_outside[:, None, :]] = IGNORED
    return status, matched_gt
