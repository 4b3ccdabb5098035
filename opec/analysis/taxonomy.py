"""Keypoint error taxonomy (Ronchi & Perona, ICCV 2017), for every detection matched to a GT.

Detections are matched to GTs by the evaluator (:meth:`KeypointEvaluator.match`: greedy by score,
at most 20 per image), at OKS 0.1. For each detection matched to a non-ignored GT person and each of that person's
labelled joints (v > 0), with ks the joint's keypoint similarity (:mod:`opec.analysis.similarity`):

* **good**      ks >= 0.85
* **jitter**    0.5 <= ks < 0.85
* **inversion** ks < 0.5, but >= 0.5 against the left/right-mirrored joint of the same person
* **swap**      ks < 0.5, not an inversion, but >= 0.5 against the same or the mirrored joint of
  another (non-crowd) annotated person of the image, measured with that person's OKS scale
* **miss**      everything else

Unlabelled GT joints, detections matched to ignored GTs (crowd regions, persons without labelled
joints) and unmatched detections are not classified.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from opec.analysis.scene import Scene
from opec.analysis.similarity import joint_similarity
from opec.evaluation.matching import TRUE_POSITIVE

CATEGORIES = ("good", "jitter", "inversion", "swap", "miss")
GOOD, JITTER, INVERSION, SWAP, MISS = range(5)
MATCH_OKS = 0.1  # coco-analyze's matching threshold
GOOD_KS, JITTER_KS = 0.85, 0.5


@dataclass
class Taxonomy:
    """``dt_gt`` (D,): the non-ignored GT each detection is matched to at OKS 0.1, -1 for none.
    ``category`` (D, K) int8: index into :data:`CATEGORIES`, -1 where not classified.
    ``ks`` (D, K): similarity to the matched GT's joint (NaN where not classified)."""

    dt_gt: np.ndarray
    category: np.ndarray
    ks: np.ndarray


def classify(scene: Scene, xy: np.ndarray | None = None) -> Taxonomy:
    """The taxonomy of ``scene``'s detections (joint positions ``xy`` (D, K, 2), default the file's)."""
    truth, gt = scene.truth, scene.truth.gt
    xy = scene.xy if xy is None else xy
    n_dt, n_k = xy.shape[0], len(truth.sigmas)
    match = truth.evaluator.match(scene.detections, np.array([MATCH_OKS]), pairs=scene.pairs)
    dt_gt = np.full(n_dt, -1, dtype=np.int64)
    found = match.status[0, 0] == TRUE_POSITIVE  # matched to a non-ignored GT
    dt_gt[match.kept[found]] = match.gt[0, 0, found]
    matched = np.flatnonzero(dt_gt >= 0)
    own = dt_gt[matched]
    ks = np.full((n_dt, n_k), np.nan)
    ks[matched] = joint_similarity(xy[matched], gt.keypoints[own], gt.areas[own], truth.sigmas)

    mirrored = gt.keypoints[own][:, truth.flip, :].copy()
    mirrored[:, truth.flip == np.arange(n_k), 2] = 0  # joints without a mirror image
    ks_mirror = joint_similarity(xy[matched], mirrored, gt.areas[own], truth.sigmas[truth.flip])

    own_ks = ks[matched]
    with np.errstate(invalid="ignore"):
        # Swap candidates: labelled joints that are neither good, jitter nor an inversion.
        candidate = np.zeros((n_dt, n_k), dtype=bool)
        candidate[matched] = ~np.isnan(own_ks) & ~(own_ks >= JITTER_KS) & ~(ks_mirror >= JITTER_KS)
    # Those with ks >= 0.5 against the same or the mirrored joint of another annotated person of the image.
    pair_dt, pair_gt = scene.pairs.dt, scene.pairs.gt
    pairs = np.flatnonzero((dt_gt[pair_dt] >= 0) & (pair_gt != dt_gt[pair_dt]) & ~truth.crowd[pair_gt])
    entry, joint = np.nonzero(candidate[pair_dt[pairs]])  # only these joints' ks are needed
    p_dt, p_gt = pair_dt[pairs[entry]], pair_gt[pairs[entry]]
    scale, mirror = gt.areas[p_gt], truth.flip[joint]
    same = joint_similarity(xy[p_dt, joint][:, None], gt.keypoints[p_gt, joint][:, None], scale,
                            truth.sigmas[joint][:, None])[:, 0]
    flipped = joint_similarity(xy[p_dt, joint][:, None], gt.keypoints[p_gt, mirror][:, None], scale,
                               truth.sigmas[mirror][:, None])[:, 0]
    with np.errstate(invalid="ignore"):
        near = (same >= JITTER_KS) | (flipped >= JITTER_KS)
    swap = np.zeros((n_dt, n_k), dtype=bool)
    swap[p_dt[near], joint[near]] = True

    category = np.full((n_dt, n_k), -1, dtype=np.int8)
    labelled = ~np.isnan(own_ks)
    with np.errstate(invalid="ignore"):
        value = np.select(
            [own_ks >= GOOD_KS, own_ks >= JITTER_KS, ks_mirror >= JITTER_KS, swap[matched]],
            [GOOD, JITTER, INVERSION, SWAP], MISS)
    category[matched] = np.where(labelled, value, -1)
    return Taxonomy(dt_gt, category, ks)


def category_counts(category: np.ndarray, select: np.ndarray | None = None) -> np.ndarray:
    """(K, 5) number of classified joints per joint and category; ``select`` (D, K) or (D,) masks
    which entries count."""
    mask = category >= 0
    if select is not None:
        mask &= select if select.ndim == 2 else select[:, None]
    n_k = category.shape[1]
    joint = np.broadcast_to(np.arange(n_k), category.shape)[mask]
    counts = np.zeros((n_k, len(CATEGORIES)), dtype=np.int64)
    np.add.at(counts, (joint, category[mask].astype(np.int64)), 1)
    return counts
