"""Object keypoint similarity for a batch of (detection, GT) pairs, bit-identical to pycocotools.

OKS(d, g) = mean over g's labelled joints (v > 0) of exp(-e_k), e_k = d_k^2 / (2 sigma_k)^2 /
(s_g + eps) / 2, s_g = the GT's OKS scale. A GT without labelled joints measures each detected
joint's distance to its box enlarged by one box size per side (0 inside) and averages all joints.

pycocotools computes one pair at a time: the elementwise terms, then ``np.sum`` over the selected
joints. Here all pairs are computed at once with the same elementwise operations, and the sum is
done column by column in the order numpy's pairwise summation adds a short row (a plain running
sum below 8 values; 8 partial sums combined as ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) from 8 values
on, the rest added one by one), so every OKS is bit-identical to the reference
(``tests/evaluation/test_eval_oks.py`` compares with pycocotools' ``computeOks`` exactly).
"""
from __future__ import annotations

import numpy as np


def _numpy_row_sum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``np.sum(row[:n])`` for every row, with numpy's summation order (rows of up to 127 values).

    Args:
        values: (P, K) non-negative values, row p holding its ``counts[p]`` values first and zeros
            after them (adding 0.0 is exact, so the zeros never change a sum).
        counts: (P,) number of values per row, 1..K.
    Returns:
        (P,) float64 sums.
    """
    width = values.shape[1]
    running = values[:, 0].copy()
    for k in range(1, width):
        running += values[:, k]
    if width < 8:
        return running
    blocked_end = counts - counts % 8          # values before this go through the 8 partial sums
    partial = values[:, :8].copy()
    for start in range(8, width - 7, 8):
        rows = blocked_end > start
        partial[rows] += values[rows, start:start + 8]
    blocked = ((partial[:, 0] + partial[:, 1]) + (partial[:, 2] + partial[:, 3])) + \
              ((partial[:, 4] + partial[:, 5]) + (partial[:, 6] + partial[:, 7]))
    for k in range(8, width):
        rows = k >= blocked_end
        blocked[rows] += values[rows, k]
    return np.where(counts < 8, running, blocked)


def pair_oks(gt_keypoints: np.ndarray, gt_boxes: np.ndarray, gt_scales: np.ndarray, dt_xy: np.ndarray,
             gt_index: np.ndarray, dt_index: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """OKS of the pairs (``dt_index[p]``, ``gt_index[p]``).

    Args:
        gt_keypoints: (G, K, 3) x, y, v. gt_boxes: (G, 4) x, y, w, h. gt_scales: (G,) OKS scale.
        dt_xy: (D, K, 2) predicted x, y.
        gt_index, dt_index: (P,) the pairs.
        sigmas: (K,) OKS sigmas.
    Returns:
        (P,) float64 OKS.
    """
    num_joints = len(sigmas)
    variances = (np.asarray(sigmas, dtype=np.float64) * 2) ** 2
    labelled = gt_keypoints[:, :, 2] > 0
    counts = np.count_nonzero(labelled, axis=1)
    # Each GT's labelled joints first, in joint order (for a GT without labels: all joints).
    joints = np.argsort(~labelled, axis=1, kind="stable")
    gx = np.take_along_axis(gt_keypoints[:, :, 0], joints, axis=1)
    gy = np.take_along_axis(gt_keypoints[:, :, 1], joints, axis=1)
    scale = gt_scales + np.spacing(1)

    oks = np.empty(len(gt_index))
    with_labels = counts[gt_index] > 0
    for use_labels in (True, False):
        pairs = np.flatnonzero(with_labels == use_labels)
        if not len(pairs):
            continue
        g, d = gt_index[pairs], dt_index[pairs]
        if use_labels:
            order = joints[g]
            xd = dt_xy[d[:, None], order, 0]
            yd = dt_xy[d[:, None], order, 1]
            dx, dy = xd - gx[g], yd - gy[g]
            used = counts[g]
            var = variances[order]
        else:
            box = gt_boxes[g]
            x0, x1 = box[:, 0] - box[:, 2], box[:, 0] + box[:, 2] * 2
            y0, y1 = box[:, 1] - box[:, 3], box[:, 1] + box[:, 3] * 2
            xd, yd = dt_xy[d, :, 0], dt_xy[d, :, 1]
            dx = np.maximum(0.0, x0[:, None] - xd) + np.maximum(0.0, xd - x1[:, None])
            dy = np.maximum(0.0, y0[:, None] - yd) + np.maximum(0.0, yd - y1[:, None])
            used = np.full(len(pairs), num_joints)
            var = variances
        e = (dx ** 2 + dy ** 2) / var / scale[g][:, None] / 2
        values = np.exp(-e)
        values[np.arange(num_joints) >= used[:, None]] = 0.0
        oks[pairs] = _numpy_row_sum(values, used) / used
    return oks
