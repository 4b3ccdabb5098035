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
    """``np.sum(row[:n])`` for every row, in numpy's summation order (rows of up to 127 values).

    Below 8 values numpy adds one by one; from 8 on it keeps 8 partial sums over the first
    n - n % 8 values, combines them ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)), then adds the rest one
    by one. Both are computed for every row (adding the zeros past n is exact) and the right one
    is kept.

    Args:
        values: (P, K) non-negative values, row p's ``counts[p]`` values first, zeros after them.
        counts: (P,) 1..K.
    Returns:
        (P,) float64 sums, bit-identical to ``np.sum``.
    """
    width = values.shape[1]
    running = np.cumsum(values, axis=1)[:, -1]
    if width < 8:
        return running
    blocked_end = counts - counts % 8
    partial = values[:, :8].copy()
    for start in range(8, width - 7, 8):
        partial += np.where((blocked_end > start)[:, None], values[:, start:start + 8], 0.0)
    blocked = ((partial[:, 0] + partial[:, 1]) + (partial[:, 2] + partial[:, 3])) + \
              ((partial[:, 4] + partial[:, 5]) + (partial[:, 6] + partial[:, 7]))
    for k in range(8, width):
        blocked += np.where(k >= blocked_end, values[:, k], 0.0)
    return np.where(counts < 8, running, blocked)


def labelled_boxes(keypoints: np.ndarray) -> np.ndarray:
    """(G, K, 3) x, y, v -> (G, 4) x0, y0, x1, y1 around the labelled joints (inf/-inf without any)."""
    labelled = keypoints[:, :, 2] > 0
    x, y = keypoints[:, :, 0], keypoints[:, :, 1]
    return np.stack([np.where(labelled, x, np.inf).min(axis=1, initial=np.inf),
                     np.where(labelled, y, np.inf).min(axis=1, initial=np.inf),
                     np.where(labelled, x, -np.inf).max(axis=1, initial=-np.inf),
                     np.where(labelled, y, -np.inf).max(axis=1, initial=-np.inf)], axis=1)


def may_match(gt_boxes: np.ndarray, gt_scales: np.ndarray, dt_boxes: np.ndarray, gt_index: np.ndarray,
              dt_index: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """Pairs whose OKS can reach 0.5, the lowest matching threshold (a cheap, safe filter).

    Every joint of a detection lies in the box around its joints, every labelled joint of a GT in
    the box around those, so each joint distance is at least the gap D between the two boxes and
    OKS <= exp(-D^2 / (2 sigma_max)^2 / (s + eps) / 2). A pair is dropped when that bound is below
    exp(-1) = 0.37 (far from 0.5, whatever the rounding). GTs without labelled joints (infinite
    boxes) are kept.

    Args:
        gt_boxes: (G, 4) :func:`labelled_boxes`. gt_scales: (G,) OKS scale.
        dt_boxes: (D, 4) x0, y0, x1, y1 around each detection's evaluated joints.
        gt_index, dt_index: (P,) the pairs. sigmas: (K,) OKS sigmas.
    Returns:
        (P,) bool.
    """
    g, d = gt_boxes[gt_index], dt_boxes[dt_index]
    gap_x = np.maximum(np.maximum(g[:, 0] - d[:, 2], d[:, 0] - g[:, 2]), 0.0)
    gap_y = np.maximum(np.maximum(g[:, 1] - d[:, 3], d[:, 1] - g[:, 3]), 0.0)
    widest = (2 * np.max(sigmas)) ** 2
    bound = (gap_x ** 2 + gap_y ** 2) / widest / (gt_scales[gt_index] + np.spacing(1)) / 2
    return (bound <= 1.0) | ~np.isfinite(g[:, 0])


CHUNK = 4096  # pairs per block: small temporaries stay in cache and are reused, not page-faulted


def gt_tables(gt_keypoints: np.ndarray, gt_boxes: np.ndarray, gt_scales: np.ndarray) -> dict[str, np.ndarray]:
    """Per-GT arrays :func:`pair_oks` needs (computed once per ground truth).

    Args:
        gt_keypoints: (G, K, 3) x, y, v. gt_boxes: (G, 4) x, y, w, h. gt_scales: (G,) OKS scale.
    """
    num_joints = gt_keypoints.shape[1]
    labelled = gt_keypoints[:, :, 2] > 0
    counts = np.count_nonzero(labelled, axis=1)
    has_labels = counts > 0
    # The joints entering each GT's OKS (labelled ones; all for a GT without labels), first.
    used = np.where(has_labels[:, None], labelled, True)
    box = gt_boxes.astype(np.float64)
    return {
        # x of all joints, then y: one row gather per pair
        "xy": np.ascontiguousarray(np.concatenate([gt_keypoints[:, :, 0], gt_keypoints[:, :, 1]], axis=1)),
        "joints": np.argsort(~used, axis=1, kind="stable"),
        "counts": np.where(has_labels, counts, num_joints), "has_labels": has_labels,
        "scale": gt_scales + np.spacing(1),
        "x0": box[:, 0] - box[:, 2], "x1": box[:, 0] + box[:, 2] * 2,
        "y0": box[:, 1] - box[:, 3], "y1": box[:, 1] + box[:, 3] * 2,
    }


def pair_oks(gt: dict[str, np.ndarray], dt_xy: np.ndarray, gt_index: np.ndarray, dt_index: np.ndarray,
             sigmas: np.ndarray) -> np.ndarray:
    """OKS of the pairs (``dt_index[p]``, ``gt_index[p]``).

    Args:
        gt: :func:`gt_tables` of the GTs.
        dt_xy: (D, K, 2) predicted x, y (any strides).
        gt_index, dt_index: (P,) the pairs.
        sigmas: (K,) OKS sigmas.
    Returns:
        (P,) float64 OKS.
    """
    dt = np.ascontiguousarray(np.concatenate([dt_xy[:, :, 0], dt_xy[:, :, 1]], axis=1))
    variances = (np.asarray(sigmas, dtype=np.float64) * 2) ** 2
    oks = np.empty(len(gt_index))
    for start in range(0, len(gt_index), CHUNK):
        part = slice(start, start + CHUNK)
        oks[part] = _block_oks(gt, dt, gt_index[part], dt_index[part], variances)
    return oks


def _block_oks(gt: dict, dt: np.ndarray, g: np.ndarray, d: np.ndarray, variances: np.ndarray) -> np.ndarray:
    """:func:`pair_oks` of one block of pairs (arrays prepared there)."""
    k = len(variances)
    dt_xy = np.take(dt, d, axis=0)
    delta = dt_xy - np.take(gt["xy"], g, axis=0)
    dx, dy = delta[:, :k], delta[:, k:]
    box_pairs = np.flatnonzero(~gt["has_labels"][g])
    if len(box_pairs):  # distances to the enlarged box of a GT without labelled joints
        b, xb, yb = g[box_pairs], dt_xy[box_pairs, :k], dt_xy[box_pairs, k:]
        dx[box_pairs] = np.maximum(0.0, gt["x0"][b, None] - xb) + np.maximum(0.0, xb - gt["x1"][b, None])
        dy[box_pairs] = np.maximum(0.0, gt["y0"][b, None] - yb) + np.maximum(0.0, yb - gt["y1"][b, None])
    # e = (dx**2 + dy**2) / variances / scale / 2, in place (same operations, same order).
    np.square(delta, out=delta)
    e = np.add(dx, dy, out=dx)
    e /= variances
    e /= gt["scale"][g][:, None]
    e /= 2
    np.minimum(e, 800.0, out=e)  # exp(-800) and exp(-e) for any larger e are both exactly 0.0
    values = np.exp(np.negative(e, out=e), out=e)
    # The joints entering the OKS first (in joint order), zeros after them, then numpy's sum.
    counts = gt["counts"][g]
    values = np.take_along_axis(values, np.take(gt["joints"], g, axis=0), axis=1)
    values *= np.arange(k) < counts[:, None]  # x * 1.0 is exact
    return _numpy_row_sum(values, counts) / counts
