"""Before / after refinement: per-joint category transitions, per-person OKS change, and the
category rates of the joints OPEC-Net's protocol replaces.

Every labelled joint of a non-ignored GT person has a state in each results file: its category
(:mod:`opec.analysis.taxonomy`) when a detection is matched to the person at OKS 0.1, else
``undetected``. A joint is *replaced* when the detection matched to its person in the *before*
file has a score below 0.2 for that joint (the joints whose position OPEC-Net's protocol takes
from the refiner, :func:`opec.evaluation.replace_low_confidence`); all other joints, including
those of persons the before file did not detect, are *kept*.
"""
from __future__ import annotations

import numpy as np

from opec.analysis.scene import Scene
from opec.analysis.taxonomy import CATEGORIES, Taxonomy

STATES = CATEGORIES + ("undetected",)
UNDETECTED = len(CATEGORIES)
REPLACE_THRESHOLD = 0.2


def joint_states(scene: Scene, taxonomy: Taxonomy) -> np.ndarray:
    """(G, K) int8 state index into :data:`STATES` of every GT joint; -1 for unlabelled joints
    and ignored GTs."""
    truth = scene.truth
    labelled = (truth.gt.keypoints[:, :, 2] > 0) & ~truth.ignore[:, None]
    states = np.where(labelled, UNDETECTED, -1).astype(np.int8)
    matched = np.flatnonzero(taxonomy.dt_gt >= 0)
    rows = taxonomy.dt_gt[matched]
    states[rows] = np.where(labelled[rows], taxonomy.category[matched], -1)
    return states


def replaced_joints(scene: Scene, taxonomy: Taxonomy, threshold: float = REPLACE_THRESHOLD) -> np.ndarray:
    """(G, K) bool: the joint's score in the detection matched to its person is < ``threshold``."""
    replaced = np.zeros(scene.truth.gt.keypoints.shape[:2], dtype=bool)
    matched = np.flatnonzero(taxonomy.dt_gt >= 0)
    replaced[taxonomy.dt_gt[matched]] = scene.detections.joint_scores[matched] < threshold
    return replaced


def transition_matrix(before: np.ndarray, after: np.ndarray, select: np.ndarray | None = None) -> np.ndarray:
    """(K, S, S) counts of joints in state i before and j after (S = len(STATES)); ``before`` and
    ``after`` from :func:`joint_states`, ``select`` (G, K) masks the joints counted."""
    counted = (before >= 0) & (after >= 0)
    if select is not None:
        counted &= select
    n_k, n_s = before.shape[1], len(STATES)
    joint = np.broadcast_to(np.arange(n_k), before.shape)[counted]
    out = np.zeros((n_k, n_s, n_s), dtype=np.int64)
    np.add.at(out, (joint, before[counted].astype(np.int64), after[counted].astype(np.int64)), 1)
    return out


def person_oks(scene: Scene, taxonomy: Taxonomy) -> np.ndarray:
    """(G,) OKS of each GT with the detection matched to it at OKS 0.1 (0 when none; NaN for
    ignored GTs)."""
    truth = scene.truth
    out = np.where(truth.ignore, np.nan, 0.0)
    pairs = np.flatnonzero(taxonomy.dt_gt[scene.pairs.dt] == scene.pairs.gt)
    out[scene.pairs.gt[pairs]] = scene.pairs.oks[pairs]
    return out


def rates(states: np.ndarray, select: np.ndarray) -> dict[str, float]:
    """Fraction of the selected joints (``select`` (G, K), labelled only) in each state."""
    values = states[select & (states >= 0)]
    total = max(len(values), 1)
    return {name: float(np.count_nonzero(values == i)) / total for i, name in enumerate(STATES)}
