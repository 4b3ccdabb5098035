"""Matching detected poses to ground-truth persons (the training-pair "sampling rule").

The original repository publishes its processed training files but not the script that made them
from AlphaPose runs (docs/datasets.md). This module is this project's stated rule for it:

1. Both sides are reduced to the 12 OPEC joints (COCO-17 -> indices 5..16, CrowdPose-14 -> first 12).
2. OKS(d, g) over the GT person's labelled joints among those 12 (v > 0), with the 12 body sigmas
   and the GT person's OKS scale: its stored ``area`` when the file has one (COCO, OCHuman), else
   0.53 * w * h of its box (CrowdPose's approximation).
3. GT persons that are crowd regions or have fewer than ``min_gt_joints`` labelled body joints can
   not be matched; detections below ``min_score`` are dropped.
4. Greedy one-to-one assignment: detections by descending score; each takes the still-free GT
   person with the highest OKS if that OKS is >= ``oks_threshold``.

Coordinates are image pixels throughout.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opec.keypoints import OPEC12

# CrowdPose's GT files have no ``area``; its evaluator uses this fraction of the box area.
CROWDPOSE_AREA_FACTOR = 0.53


@dataclass(frozen=True)
class MatchingRule:
    """Thresholds of the matching rule (see module docstring)."""

    oks_threshold: float = 0.5
    min_gt_joints: int = 1
    min_score: float = 0.0


def oks_matrix(det_xy: np.ndarray, gt_joints: np.ndarray, gt_scale: np.ndarray,
               sigmas=OPEC12.sigmas) -> np.ndarray:
    """Object keypoint similarity between every detection and every GT person.

    det_xy (D, J, 2) detected joints; gt_joints (G, J, 3) GT x, y, v; gt_scale (G,) OKS scale s
    (an area in pixels²). Returns (D, G): mean over the GT's labelled joints of
    exp(-d² / (2 s κ²)) with κ = 2σ; 0 for a GT person with no labelled joint.
    """
    det_xy = np.asarray(det_xy, dtype=np.float64)
    gt_joints = np.asarray(gt_joints, dtype=np.float64)
    kappa2 = (2.0 * np.asarray(sigmas, dtype=np.float64)) ** 2                  # (J,)
    d2 = ((det_xy[:, None, :, :] - gt_joints[None, :, :, :2]) ** 2).sum(-1)    # (D, G, J)
    scale = np.asarray(gt_scale, dtype=np.float64)[None, :, None] + np.finfo(np.float64).eps
    similarity = np.exp(-d2 / (2.0 * scale * kappa2))
    labelled = gt_joints[None, :, :, 2] > 0                                      # (1, G, J)
    count = labelled.sum(-1)                                                     # (1, G)
    return np.where(count > 0, (similarity * labelled).sum(-1) / np.maximum(count, 1), 0.0)


def gt_oks_scale(annotations: list[dict]) -> np.ndarray:
    """(G,) OKS scale per GT annotation: stored ``area`` if present, else 0.53·w·h of ``bbox``."""
    return np.array([
        float(a["area"]) if "area" in a else CROWDPOSE_AREA_FACTOR * a["bbox"][2] * a["bbox"][3]
        for a in annotations
    ], dtype=np.float64)


def match_greedy(oks: np.ndarray, det_scores: np.ndarray, gt_valid: np.ndarray,
                 rule: MatchingRule) -> list[tuple[int, int, float]]:
    """One-to-one greedy assignment by descending detection score.

    oks (D, G); det_scores (D,); gt_valid (G,) bool (matchable GT persons). Returns
    [(det_index, gt_index, oks)] in assignment order (ties in score keep input order).
    """
    det_scores = np.asarray(det_scores, dtype=np.float64)
    free = np.asarray(gt_valid, dtype=bool).copy()
    pairs = []
    for d in np.argsort(-det_scores, kind="stable"):
        if det_scores[d] < rule.min_score or not free.any():
            continue
        candidates = np.where(free, oks[d], -np.inf)
        g = int(np.argmax(candidates))
        if candidates[g] >= rule.oks_threshold:
            free[g] = False
            pairs.append((int(d), g, float(oks[d, g])))
    return pairs
