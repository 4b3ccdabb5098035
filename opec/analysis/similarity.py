"""Keypoint similarity of single joints and OKS of arbitrary (pose, GT) pairs.

ks_k = exp(-d_k^2 / (2 sigma_k)^2 / (s + eps) / 2), with d_k the distance of joint k to the GT
joint, sigma_k the joint's OKS constant and s the GT's OKS scale (0.53 * w * h of the GT box for
crowdpose / ocpose, the stored ``area`` for coco / ochuman). OKS is the mean ks over the GT's
labelled joints (v > 0); a GT without labelled joints measures each joint's distance to its box
enlarged by one box size per side instead (the evaluators' rule, docs/evaluation.md). These are
the formulas of :func:`opec.evaluation.oks.batched_oks`, for poses that are not in a results file
(joints moved onto their GT by the AP-impact fixes).
"""
from __future__ import annotations

import numpy as np

from opec.analysis.scene import Truth


def joint_similarity(xy: np.ndarray, gt_keypoints: np.ndarray, scale: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """ks per joint.

    Args:
        xy: (N, K, 2) predicted joints. gt_keypoints: (N, K, 3) GT x, y, v to compare with.
        scale: (N,) OKS scale of the GT. sigmas: (K,) per-joint constants.
    Returns:
        (N, K) ks, NaN where the GT joint is unlabelled (v = 0).
    """
    d2 = ((xy - gt_keypoints[:, :, :2]) ** 2).sum(axis=2)
    e = d2 / (2 * sigmas) ** 2 / (scale[:, None] + np.spacing(1)) / 2
    return np.where(gt_keypoints[:, :, 2] > 0, np.exp(-e), np.nan)


def pair_oks(truth: Truth, xy: np.ndarray, gt_index: np.ndarray) -> np.ndarray:
    """(N,) OKS of the poses ``xy`` (N, K, 2) against the GTs ``gt_index`` (N,)."""
    gt = truth.gt
    keypoints, boxes, areas = gt.keypoints[gt_index], gt.boxes[gt_index], gt.areas[gt_index]
    labelled = keypoints[:, :, 2] > 0
    has_labels = labelled.any(axis=1)
    ks = joint_similarity(xy, keypoints, areas, truth.sigmas)
    with np.errstate(invalid="ignore"):
        mean_labelled = np.nansum(ks, axis=1) / np.maximum(labelled.sum(axis=1), 1)
    # No labelled joints: distance to the box enlarged by one box size on each side.
    x0, x1 = boxes[:, :1] - boxes[:, 2:3], boxes[:, :1] + 2 * boxes[:, 2:3]
    y0, y1 = boxes[:, 1:2] - boxes[:, 3:4], boxes[:, 1:2] + 2 * boxes[:, 3:4]
    dx = np.maximum(0, x0 - xy[:, :, 0]) + np.maximum(0, xy[:, :, 0] - x1)
    dy = np.maximum(0, y0 - xy[:, :, 1]) + np.maximum(0, xy[:, :, 1] - y1)
    e = (dx ** 2 + dy ** 2) / (2 * truth.sigmas) ** 2 / (areas[:, None] + np.spacing(1)) / 2
    return np.where(has_labels, mean_labelled, np.exp(-e).mean(axis=1))
