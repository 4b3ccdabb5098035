"""Keypoint similarity (ks) of single joints, which the error taxonomy classifies.

ks_k = exp(-d_k^2 / (2 sigma_k)^2 / (s + eps) / 2), with d_k the distance of joint k to the GT
joint, sigma_k the joint's OKS constant and s the GT's OKS scale (0.53 * w * h of the GT box for
crowdpose / ocpose, the stored ``area`` for coco / ochuman). The OKS itself (the mean ks over the
GT's labelled joints) is the evaluator's, :mod:`opec.evaluation.oks`.
"""
from __future__ import annotations

import numpy as np


def joint_similarity(xy: np.ndarray, gt_keypoints: np.ndarray, scale: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """ks per joint.

    Args:
        xy: (N, K, 2) predicted joints. gt_keypoints: (N, K, 3) GT x, y, v to compare with.
        scale: (N,) OKS scale of the GT. sigmas: (K,) per-joint constants.
    Returns:
        (N, K) ks, NaN where the GT joint is unlabelled (v = 0).
    """
    delta = xy - gt_keypoints[:, :, :2]
    d2 = delta[:, :, 0] ** 2 + delta[:, :, 1] ** 2  # what .sum(axis=2) adds, without a slow 2-wide reduction
    e = d2 / (2 * sigmas) ** 2 / (scale[:, None] + np.spacing(1)) / 2
    return np.where(gt_keypoints[:, :, 2] > 0, np.exp(-e), np.nan)
