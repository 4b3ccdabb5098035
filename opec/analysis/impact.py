"""AP impact of each error type: the AP after fixing the errors cumulatively, in the order of
Ronchi & Perona's stacked bars.

Steps, each applied on top of the previous ones:

1. ``original``       the results as they are (the evaluators' AP).
2. ``miss``, ``swap``, ``inversion``, ``jitter``  the joints of that category (as classified on
   the original results, :mod:`opec.analysis.taxonomy`) are moved onto their GT joint.
3. ``rescore``        optimal rescoring: every detection's score becomes its OKS with the GT it is
   paired with when each image's (detection, non-ignored GT) pairs are paired one-to-one in
   descending OKS order; detections left without a GT (duplicates, background) score 0.
4. ``background_fp``  detections whose OKS with every GT of their image is below 0.1 are removed
   (they can never be a match).
5. ``false_negatives`` non-ignored GTs whose OKS with every counted detection is below 0.1
   become ignore regions (they can never be found).

Each step is evaluated on every slice: all, the crowd levels (images) and the overlap levels
(persons; see :func:`evaluate_slices`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from opec.analysis.matching import greedy_match_slices, score_rank
from opec.analysis.precision import ap_metrics, crowd_subset_ap, precision_array
from opec.analysis.scene import MAX_DETS, Scene
from opec.analysis.similarity import pair_oks
from opec.analysis.taxonomy import CATEGORIES, MATCH_OKS, Taxonomy

FIX_ORDER = ("miss", "swap", "inversion", "jitter")
STEPS = ("original",) + FIX_ORDER + ("rescore", "background_fp", "false_negatives")


@dataclass
class State:
    """One version of the results: joints ``xy`` (D, K, 2), pair ``oks`` (P,), ``scores`` (D,),
    ``removed`` (D,) detections taken out, ``gt_ignore`` (G,) ignore flags."""

    xy: np.ndarray
    oks: np.ndarray
    scores: np.ndarray
    removed: np.ndarray
    gt_ignore: np.ndarray

    @classmethod
    def of(cls, scene: Scene) -> "State":
        return cls(scene.xy, scene.oks, scene.scores, np.zeros(scene.num_detections, dtype=bool),
                   scene.truth.ignore)


@dataclass
class Slices:
    """``images``: {name: (image ids)} (crowd levels); ``persons``: {name: (G,) bool} (overlap)."""

    images: dict[str, np.ndarray]
    persons: dict[str, np.ndarray]


def nearest_gt(scene: Scene) -> np.ndarray:
    """(D,) the non-ignored GT with the highest OKS with each detection (first on ties), -1 when its
    image has none: the person slice an unmatched detection belongs to."""
    valid = ~scene.truth.ignore[scene.pair_gt]
    pairs = np.flatnonzero(valid)
    order = pairs[np.lexsort((pairs, -scene.oks[pairs], scene.pair_dt[pairs]))]
    first = order[np.r_[True, scene.pair_dt[order][1:] != scene.pair_dt[order][:-1]]] if len(order) else order
    nearest = np.full(scene.num_detections, -1, dtype=np.int64)
    nearest[scene.pair_dt[first]] = scene.pair_gt[first]
    return nearest


def evaluate_slices(scene: Scene, state: State, slices: Slices, nearest: np.ndarray) -> dict[str, dict[str, float]]:
    """{slice: {AP, AP50, AP75}} of one state.

    ``all`` and the crowd levels come from one matching (a crowd level is the image subset's
    accumulation, the CrowdPose API's plain mean including -1 entries). A person slice is matched
    with the other GTs as ignore regions (in the same matching pass), and an unmatched detection
    counts only in the slice of its nearest GT (``nearest``; a detection in an image without
    non-ignored GTs counts everywhere), as the evaluators' area ranges treat GTs and detections
    outside the range.
    """
    truth = scene.truth
    persons = list(slices.persons.values())
    # "all" and every person slice in one matching pass (one set of ignore flags each)
    gt_ignore = np.stack([state.gt_ignore] + [state.gt_ignore | ~mask for mask in persons])
    outside = np.stack([np.zeros(scene.num_detections, dtype=bool)]
                       + [(nearest >= 0) & ~mask[np.maximum(nearest, 0)] for mask in persons])
    matches = greedy_match_slices(scene, scores=state.scores, oks=state.oks, gt_ignore=gt_ignore,
                                  removed=state.removed, outside=outside)
    match = matches[0]
    precision = precision_array(scene, match, state.scores, gt_ignore=state.gt_ignore)
    out = {"all": ap_metrics(precision, match.thresholds)}
    t50, t75 = (int(np.flatnonzero(np.isclose(match.thresholds, v))[0]) for v in (0.5, 0.75))
    for name, ids in slices.images.items():
        dt_in, gt_in = np.isin(scene.group // truth.num_categories, ids), np.isin(truth.gt.image_ids, ids)
        sub = precision_array(scene, match, state.scores, dt_select=dt_in, gt_ignore=state.gt_ignore,
                              gt_select=gt_in)
        out[name] = {"AP": crowd_subset_ap(sub), "AP50": crowd_subset_ap(sub[t50]),
                     "AP75": crowd_subset_ap(sub[t75])}
    for name, ignore, slice_match in zip(slices.persons, gt_ignore[1:], matches[1:]):
        out[name] = ap_metrics(precision_array(scene, slice_match, state.scores, gt_ignore=ignore),
                               slice_match.thresholds)
    return out


def fix_joints(scene: Scene, state: State, taxonomy: Taxonomy, category: str) -> State:
    """Move the joints of ``category`` onto their matched GT joint; recompute the OKS of the
    moved detections' pairs."""
    moved = taxonomy.category == CATEGORIES.index(category)
    if not moved.any():
        return state
    xy = state.xy.copy()
    rows, joints = np.nonzero(moved)
    xy[rows, joints] = scene.truth.gt.keypoints[taxonomy.dt_gt[rows], joints, :2]
    oks = state.oks.copy()
    pairs = np.flatnonzero(moved.any(axis=1)[scene.pair_dt])
    oks[pairs] = pair_oks(scene.truth, xy[scene.pair_dt[pairs]], scene.pair_gt[pairs])
    return replace(state, xy=xy, oks=oks)


def optimal_scores(scene: Scene, state: State) -> np.ndarray:
    """(D,) scores from a one-to-one pairing of detections and non-ignored GTs per image in
    descending OKS order (ties: pair order): the pair's OKS, 0 for unpaired detections."""
    valid = np.flatnonzero(~state.gt_ignore[scene.pair_gt] & ~state.removed[scene.pair_dt])
    rank = np.empty(len(valid), dtype=np.int64)
    rank[np.lexsort((valid, -state.oks[valid]))] = np.arange(len(valid))
    p_dt, p_gt = scene.pair_dt[valid], scene.pair_gt[valid]
    scores = np.zeros(scene.num_detections)
    free_dt = np.ones(scene.num_detections, dtype=bool)
    free_gt = np.ones(len(state.gt_ignore), dtype=bool)
    big = len(valid) + 1
    while True:  # each round pairs every (detection, GT) that is the other's best free choice
        open_ = np.flatnonzero(free_dt[p_dt] & free_gt[p_gt])
        if not len(open_):
            break
        best_dt, best_gt = np.full(len(free_dt), big), np.full(len(free_gt), big)
        np.minimum.at(best_dt, p_dt[open_], rank[open_])
        np.minimum.at(best_gt, p_gt[open_], rank[open_])
        mutual = open_[(rank[open_] == best_dt[p_dt[open_]]) & (rank[open_] == best_gt[p_gt[open_]])]
        scores[p_dt[mutual]] = state.oks[valid[mutual]]
        free_dt[p_dt[mutual]], free_gt[p_gt[mutual]] = False, False
    return scores


def max_oks_per_detection(scene: Scene, state: State) -> np.ndarray:
    """(D,) highest OKS of each detection with any GT of its image (0 without GTs)."""
    best = np.zeros(scene.num_detections)
    np.maximum.at(best, scene.pair_dt, state.oks)
    return best


def max_oks_per_gt(scene: Scene, state: State) -> np.ndarray:
    """(G,) highest OKS of each GT with a counted detection (top 20 of its image, not removed)."""
    counted = score_rank(scene.group, state.scores, ~state.removed) < MAX_DETS
    pairs = np.flatnonzero(counted[scene.pair_dt])
    best = np.zeros(len(state.gt_ignore))
    np.maximum.at(best, scene.pair_gt[pairs], state.oks[pairs])
    return best


def ap_impact(scene: Scene, taxonomy: Taxonomy, slices: Slices) -> dict[str, dict[str, dict[str, float]]]:
    """{step: {slice: {AP, AP50, AP75}}} for the :data:`STEPS`, cumulative."""
    nearest = nearest_gt(scene)
    state = State.of(scene)
    out = {"original": evaluate_slices(scene, state, slices, nearest)}
    for category in FIX_ORDER:
        state = fix_joints(scene, state, taxonomy, category)
        out[category] = evaluate_slices(scene, state, slices, nearest)
    state = replace(state, scores=optimal_scores(scene, state))
    out["rescore"] = evaluate_slices(scene, state, slices, nearest)
    state = replace(state, removed=state.removed | (max_oks_per_detection(scene, state) < MATCH_OKS))
    out["background_fp"] = evaluate_slices(scene, state, slices, nearest)
    state = replace(state, gt_ignore=state.gt_ignore | (max_oks_per_gt(scene, state) < MATCH_OKS))
    out["false_negatives"] = evaluate_slices(scene, state, slices, nearest)
    return out
