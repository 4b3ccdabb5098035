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
(persons; see :func:`evaluate_slices`), by the evaluator's matching and accumulation
(:meth:`KeypointEvaluator.match` / :meth:`KeypointEvaluator.accumulate`) with the state's
scores, OKS, removed detections and ignore flags.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from opec.analysis.scene import Scene
from opec.analysis.taxonomy import CATEGORIES, MATCH_OKS, Taxonomy
from opec.evaluation.accumulate import OKS_THRESHOLDS
from opec.evaluation.keypoint_ap import Matching, mean_valid, threshold_index
from opec.evaluation.matching import IGNORED
from opec.evaluation.oks import pair_oks

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
        return cls(scene.xy, scene.pairs.oks, scene.scores, np.zeros(scene.num_detections, dtype=bool),
                   scene.truth.ignore)


@dataclass
class Slices:
    """``images``: {name: (image ids)} (crowd levels); ``persons``: {name: (G,) bool} (overlap)."""

    images: dict[str, np.ndarray]
    persons: dict[str, np.ndarray]


def nearest_gt(scene: Scene) -> np.ndarray:
    """(D,) the non-ignored GT with the highest OKS with each detection (first on ties), -1 when its
    image has none: the person slice an unmatched detection belongs to."""
    pair_dt, pair_gt = scene.pairs.dt, scene.pairs.gt
    nearest = np.full(scene.num_detections, -1, dtype=np.int64)
    if not len(pair_dt):
        return nearest
    valid = ~scene.truth.ignore[pair_gt]
    oks = np.where(valid, scene.pairs.oks, -np.inf)
    owner = np.cumsum(np.r_[True, pair_dt[1:] != pair_dt[:-1]]) - 1  # a detection's pairs are contiguous
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    best = np.flatnonzero(valid & (oks == np.maximum.reduceat(oks, starts)[owner]))
    first = best[np.r_[True, owner[best][1:] != owner[best][:-1]]] if len(best) else best
    nearest[pair_dt[first]] = pair_gt[first]
    return nearest


def ap_metrics(precision: np.ndarray) -> dict[str, float]:
    """AP, AP50, AP75 of a (T, 101, C) precision array: the evaluator's mean of the entries > -1."""
    return {"AP": mean_valid(precision), "AP50": mean_valid(precision[threshold_index(OKS_THRESHOLDS, 0.5)]),
            "AP75": mean_valid(precision[threshold_index(OKS_THRESHOLDS, 0.75)])}


def crowd_level_ap(precision: np.ndarray) -> dict[str, float]:
    """AP, AP50, AP75 of an image subset's (T, 101, C) precision: the CrowdPose API's easy / medium /
    hard value, the plain mean including -1 entries."""
    return {"AP": float(np.mean(precision)),
            "AP50": float(np.mean(precision[threshold_index(OKS_THRESHOLDS, 0.5)])),
            "AP75": float(np.mean(precision[threshold_index(OKS_THRESHOLDS, 0.75)]))}


@dataclass
class SliceMatching:
    """The matching of one :class:`State` on every slice: ``status`` (S, T, D) int8 per
    detection (valid for the ``kept`` ones (N,)), ``gt_ignore`` (S, G) each set's ignore flags
    (``all``, then the person slices)."""

    state: State
    kept: np.ndarray
    status: np.ndarray
    gt_ignore: np.ndarray


def changed_images(scene: Scene, before: State, after: State) -> np.ndarray:
    """(I,) bool: the images where the matching's inputs differ between two states -- a pair's
    OKS, a detection's score or removal, a GT's ignore flag. An image's matching depends on
    nothing else, so the other images' matching carries over."""
    detections = (before.scores != after.scores) | (before.removed != after.removed)
    detections[scene.pairs.dt[before.oks != after.oks]] = True
    images = np.zeros(len(scene.truth.gt.image_ids), dtype=bool)
    images[scene.detections.image_index[detections]] = True
    images[scene.truth.gt.image_index[before.gt_ignore != after.gt_ignore]] = True
    return images


def match_slices(scene: Scene, state: State, slices: Slices, nearest: np.ndarray,
                 previous: SliceMatching | None = None) -> SliceMatching:
    """The evaluator's matching of ``state`` with every person slice's ignore flags (see
    :func:`evaluate_slices`); with ``previous`` (an earlier state's) only the images that changed
    since are matched again."""
    truth = scene.truth
    evaluator = truth.evaluator
    persons = list(slices.persons.values())
    gt_ignore = np.stack([state.gt_ignore] + [state.gt_ignore | ~mask for mask in persons])
    outside = np.stack([np.zeros(scene.num_detections, dtype=bool)]
                       + [(nearest >= 0) & ~mask[np.maximum(nearest, 0)] for mask in persons])
    removed = state.removed
    if previous is not None:
        removed = removed | ~changed_images(scene, previous.state, state)[scene.detections.image_index]
    match = evaluator.match(scene.detections, scores=state.scores, removed=removed,
                            pairs=replace(scene.pairs, oks=state.oks), gt_ignored=gt_ignore, dt_outside=outside,
                            return_gt=False)
    if previous is None:
        status = np.zeros(match.status.shape[:2] + (scene.num_detections,), dtype=match.status.dtype)
        kept = match.kept
    else:
        status = previous.status.copy()
        same_ranking = np.array_equal(previous.state.scores, state.scores) and \
            np.array_equal(previous.state.removed, state.removed)
        kept = previous.kept if same_ranking else evaluator.kept(scene.detections, state.scores, state.removed)
    status[:, :, match.kept] = match.status
    return SliceMatching(state, kept, status, gt_ignore)


def slice_metrics(scene: Scene, slices: Slices, matching: SliceMatching) -> dict[str, dict[str, float]]:
    """{slice: {AP, AP50, AP75}} of a :func:`match_slices` result.

    All slices are accumulated in one pass: a crowd level is the ``all`` matching with the
    detections of other images ignored and the GTs of other images as ignore regions. That is
    exactly the subset's accumulation: an ignored detection adds no true or false positive, so it
    only repeats the (recall, precision) point before it, which changes neither the precision read
    at a recall point nor the final recall.
    """
    truth, state, kept = scene.truth, matching.state, matching.kept
    levels = [np.isin(truth.gt.image_ids, ids) for ids in slices.images.values()]  # (I,) per level
    matched = matching.status[:, :, kept]
    dt_image = scene.detections.image_index[kept]
    status = np.concatenate([matched] + [np.where(level[dt_image], matched[0], IGNORED)[None] for level in levels])
    ignored = np.concatenate([matching.gt_ignore] + [(state.gt_ignore | ~level[truth.gt.image_index])[None]
                                                     for level in levels])
    precision, _ = truth.evaluator.accumulate(scene.detections, Matching(kept, state.scores, status, None),
                                              gt_ignored=ignored)
    out = {"all": ap_metrics(precision[..., 0])}  # precision: (T, 101, C, sets)
    for s, name in enumerate(slices.images, start=len(matching.gt_ignore)):
        out[name] = crowd_level_ap(precision[..., s])
    for s, name in enumerate(slices.persons, start=1):
        out[name] = ap_metrics(precision[..., s])
    return out


def evaluate_slices(scene: Scene, state: State, slices: Slices, nearest: np.ndarray) -> dict[str, dict[str, float]]:
    """{slice: {AP, AP50, AP75}} of one state.

    ``all`` and the crowd levels come from one matching (a crowd level is the image subset's
    accumulation, the CrowdPose API's plain mean including -1 entries). A person slice is matched
    with the other GTs as ignore regions, and an unmatched detection counts only in the slice of
    its nearest GT (``nearest``; a detection in an image without non-ignored GTs counts
    everywhere), as the evaluators' area ranges treat GTs and detections outside the range: the
    slices are the matching's sets of ignore flags, all matched in one pass
    (:func:`match_slices`, :func:`slice_metrics`).
    """
    return slice_metrics(scene, slices, match_slices(scene, state, slices, nearest))


def fix_joints(scene: Scene, state: State, taxonomy: Taxonomy, category: str) -> State:
    """Move the joints of ``category`` onto their matched GT joint; recompute the OKS of the
    moved detections' pairs (the evaluator's OKS)."""
    moved = taxonomy.category == CATEGORIES.index(category)
    if not moved.any():
        return state
    truth = scene.truth
    xy = state.xy.copy()
    rows, joints = np.nonzero(moved)
    xy[rows, joints] = truth.gt.keypoints[taxonomy.dt_gt[rows], joints, :2]
    oks = state.oks.copy()
    pair_dt, pair_gt = scene.pairs.dt, scene.pairs.gt
    pairs = np.flatnonzero(moved.any(axis=1)[pair_dt])
    oks[pairs] = pair_oks(truth.oks_tables, xy, pair_gt[pairs], pair_dt[pairs], truth.sigmas)
    return replace(state, xy=xy, oks=oks)


def optimal_scores(scene: Scene, state: State) -> np.ndarray:
    """(D,) scores from a one-to-one pairing of detections and non-ignored GTs per image in
    descending OKS order (ties: pair order): the pair's OKS, 0 for unpaired detections."""
    valid = np.flatnonzero(~state.gt_ignore[scene.pairs.gt] & ~state.removed[scene.pairs.dt])
    rank = np.empty(len(valid), dtype=np.int64)
    rank[np.lexsort((valid, -state.oks[valid]))] = np.arange(len(valid))
    p_dt, p_gt = scene.pairs.dt[valid], scene.pairs.gt[valid]
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
    np.maximum.at(best, scene.pairs.dt, state.oks)
    return best


def max_oks_per_gt(scene: Scene, state: State) -> np.ndarray:
    """(G,) highest OKS of each GT with a counted detection (top 20 of its image, not removed)."""
    counted = np.zeros(scene.num_detections, dtype=bool)
    counted[scene.truth.evaluator.kept(scene.detections, state.scores, state.removed)] = True
    pairs = np.flatnonzero(counted[scene.pairs.dt])
    best = np.zeros(len(state.gt_ignore))
    np.maximum.at(best, scene.pairs.gt[pairs], state.oks[pairs])
    return best


def ap_impact(scene: Scene, taxonomy: Taxonomy, slices: Slices) -> dict[str, dict[str, dict[str, float]]]:
    """{step: {slice: {AP, AP50, AP75}}} for the :data:`STEPS`, cumulative (each step matches
    again only the images its change touches)."""
    nearest = nearest_gt(scene)
    state = State.of(scene)
    matching = match_slices(scene, state, slices, nearest)
    out = {"original": slice_metrics(scene, slices, matching)}

    def step(name: str, new: State) -> None:
        nonlocal matching
        matching = match_slices(scene, new, slices, nearest, previous=matching)
        out[name] = slice_metrics(scene, slices, matching)

    for category in FIX_ORDER:
        step(category, fix_joints(scene, matching.state, taxonomy, category))
    state = matching.state
    step("rescore", replace(state, scores=optimal_scores(scene, state)))
    state = matching.state
    step("background_fp", replace(state, removed=state.removed | (max_oks_per_detection(scene, state) < MATCH_OKS)))
    state = matching.state
    step("false_negatives", replace(state, gt_ignore=state.gt_ignore | (max_oks_per_gt(scene, state) < MATCH_OKS)))
    return out
