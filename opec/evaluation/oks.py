"""Object keypoint similarity for every (detection, GT) pair of a dataset in one batch.

faster-coco-eval's ``computeOks`` runs a Python loop per GT person and per detection row, which
is most of an evaluation's time. This computes the same matrices for all images at once, with the
same floating-point operations in the same order, so the values are bit-identical (the test
suite checks them against the library's ``computeOks``); the library then matches and accumulates.

OKS(d, g) = mean over g's labelled joints (v > 0) of exp(-e_k), e_k = d_k^2 / (2 sigma_k)^2 /
(s_g + eps) / 2, s_g = the GT's ``area``. A GT without labelled joints measures each detected
joint's distance to its box enlarged by one box size per side (0 inside) and averages all joints.
Detections enter per image in descending score order (stable: ties keep the results-file
order), at most ``max_dets`` of them.
"""
from __future__ import annotations

import numpy as np


def batched_oks(gt_group: np.ndarray, gt_keypoints: np.ndarray, gt_boxes: np.ndarray, gt_areas: np.ndarray,
                dt_group: np.ndarray, dt_xy: np.ndarray, dt_scores: np.ndarray, sigmas: np.ndarray,
                max_dets: int) -> dict[int, np.ndarray]:
    """OKS matrices per group (a group = one image and category).

    Args:
        gt_group: (G,) int group id of each GT, GTs in file order.
        gt_keypoints: (G, K, 3) x, y, v. gt_boxes: (G, 4) x, y, w, h. gt_areas: (G,) OKS scale.
        dt_group: (D,) int group id of each detection, in results-file order.
        dt_xy: (D, K, 2) predicted x, y. dt_scores: (D,) person scores.
        sigmas: (K,) OKS sigmas. max_dets: detections kept per group (by score).
    Returns:
        {group: (n_dt, n_gt) float64 array} for every group with detections and GTs; rows are
        the group's top ``max_dets`` detections by score, columns its GTs in file order.
    """
    # Detections: by group, then descending score, ties in file order; keep the top max_dets.
    dt_order = np.lexsort((np.arange(len(dt_group)), -dt_scores, dt_group))
    dt_keys, dt_starts, dt_counts = np.unique(dt_group[dt_order], return_index=True, return_counts=True)
    rank = np.arange(len(dt_order)) - np.repeat(dt_starts, dt_counts)
    dt_order = dt_order[rank < max_dets]
    dt_counts = np.minimum(dt_counts, max_dets)
    gt_order = np.argsort(gt_group, kind="stable")
    gt_keys, gt_starts, gt_counts = np.unique(gt_group[gt_order], return_index=True, return_counts=True)

    keys, dt_pos, gt_pos = np.intersect1d(dt_keys, gt_keys, assume_unique=True, return_indices=True)
    n_dt, n_gt = dt_counts[dt_pos], gt_counts[gt_pos]
    dt_first = np.concatenate([[0], np.cumsum(dt_counts)[:-1]])[dt_pos]
    gt_first = gt_starts[gt_pos]
    # Pair p of group i is (detection row r, GT column c), row-major as in the result matrix.
    pairs = n_dt * n_gt
    group_of_pair = np.repeat(np.arange(len(keys)), pairs)
    within = np.arange(pairs.sum()) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    row, col = within // n_gt[group_of_pair], within % n_gt[group_of_pair]
    dt_index = dt_order[dt_first[group_of_pair] + row]
    gt_index = gt_order[gt_first[group_of_pair] + col]

    xd, yd = dt_xy[dt_index, :, 0], dt_xy[dt_index, :, 1]
    xg, yg, vg = (gt_keypoints[gt_index, :, i] for i in range(3))
    labelled = vg > 0
    has_labels = labelled.any(axis=1)
    box = gt_boxes[gt_index]
    x0, x1 = box[:, 0] - box[:, 2], box[:, 0] + box[:, 2] * 2
    y0, y1 = box[:, 1] - box[:, 3], box[:, 1] + box[:, 3] * 2
    zero = np.zeros_like(xd)
    dx = np.where(has_labels[:, None], xd - xg,
                  np.maximum(zero, x0[:, None] - xd) + np.maximum(zero, xd - x1[:, None]))
    dy = np.where(has_labels[:, None], yd - yg,
                  np.maximum(zero, y0[:, None] - yd) + np.maximum(zero, yd - y1[:, None]))
    variances = (sigmas * 2) ** 2
    e = (dx ** 2 + dy ** 2) / variances / (gt_areas[gt_index][:, None] + np.spacing(1)) / 2

    # Mean of exp(-e) over the labelled joints (all joints for a GT without labels); rows sharing
    # a joint mask are reduced together.
    used = np.where(has_labels[:, None], labelled, True)
    pattern = np.packbits(used, axis=1, bitorder="little")
    patterns, which = np.unique(pattern, axis=0, return_inverse=True)
    which = which.reshape(-1)
    oks = np.empty(len(dt_index))
    for p in range(len(patterns)):
        rows = np.flatnonzero(which == p)
        mask = used[rows[0]]
        # C order matters: numpy sums each row of a C-contiguous block pairwise like a 1-D sum.
        selected = np.ascontiguousarray(e[rows][:, mask])
        oks[rows] = np.exp(-selected).sum(axis=1) / np.count_nonzero(mask)

    matrices = np.split(oks, np.cumsum(pairs)[:-1])
    return {int(key): matrix.reshape(rows, cols)
            for key, matrix, rows, cols in zip(keys, matrices, n_dt, n_gt)}
