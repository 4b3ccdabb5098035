"""Keypoint AP/AR identical to the official evaluators (CrowdPose API, pycocotools keypoints).

One ``evaluate`` runs, vectorised over all images (time linear in the data):

1. the results are read and checked (``inputs.py``); per image (and category) the 20
   best-scoring detections are kept, ties in results-file order;
2. the OKS of every detection with every GT of its image (``oks.py``, bit-identical to the
   reference);
3. the greedy matching at the 10 OKS thresholds (``matching.py``) -- once: it depends only on the
   image, so the CrowdPose easy / medium / hard subsets (``images[].crowdIndex`` < 0.2 / < 0.8),
   which the CrowdPose API re-evaluates from scratch, reuse it;
4. precision / recall accumulated over the whole set and over each subset (``accumulate.py``).

The dataset rules come from the dataset specs (``opec.datasets``): CrowdPose's OKS scale
0.53 * w * h of the GT box and its 14 sigmas; pycocotools' stored ``area`` and 17 COCO sigmas for
coco / ochuman. Here: the OPEC-Net paper protocol
``opec12`` (OKS over the 12 body joints, ``sigmas[:12]``); AP80 / AP90 (single-threshold AP,
threshold looked up with ``isclose``); and the ``xtcocotools`` convention (mmpose's numbers).

Ground truth is read and checked once per :class:`KeypointEvaluator`; ``evaluate`` can be called
any number of times (training evaluates twice per epoch).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from opec.evaluation.accumulate import OKS_THRESHOLDS, RECALL_POINTS, precision_recall
from opec.evaluation.matching import match_images, ragged
from opec.evaluation.oks import gt_tables, labelled_boxes, may_match, pair_oks
from opec.evaluation.inputs import Detections, read_ground_truth, read_results
from opec.datasets import dataset_names, dataset_spec
from opec.keypoints import OPEC12, TO_OPEC12

DATASETS = tuple(dataset_names())  # the dataset specs of opec/datasets/ hold each one's rules
PROTOCOLS = ("official", "opec12")
CONVENTIONS = ("official", "xtcocotools")
MAIN_KEYS = ("AP", "AP50", "AP75", "AP80", "AP90", "AR", "AR50", "AR75")
CROWD_KEYS = ("AP_easy", "AP_medium", "AP_hard")
AREA_KEYS = ("APm", "APl", "ARm", "ARl")
# CrowdPose API: easy = crowdIndex < 0.2, medium = 0.2 <= ci < 0.8, hard = ci >= 0.8 (the values
# summarize() passes, not the method's own 0.01 / 0.85 defaults).
CROWD_SPLIT = (0.2, 0.8)
MAX_DETECTIONS = 20  # per image, highest scores first (pycocotools keypoint maxDets)
# pycocotools' keypoint area ranges: all, medium, large.
AREA_RANGES = np.array([[0.0, 1e10], [32.0 ** 2, 96.0 ** 2], [96.0 ** 2, 1e10]])


@dataclass
class PairList:
    """Every (detection, GT) pair of the same image and category (:meth:`KeypointEvaluator.pair_list`).

    Detections by group (image, category), best score first within a group (ties: file order);
    each detection's pairs are contiguous, its group's GTs in file order. ``dt``, ``gt``, ``oks``
    (P,): the pairs and their OKS; ``first`` (D,): each detection's first pair (its group's j-th GT
    is pair ``first + j``; 0 for a detection without pairs).
    """

    dt: np.ndarray
    gt: np.ndarray
    oks: np.ndarray
    first: np.ndarray


@dataclass
class Matching:
    """Greedy matching of the kept detections (:meth:`KeypointEvaluator.match`).

    ``kept`` (N,): the detections that count (at most 20 per image and category), by group, best
    first; ``scores`` (D,): the scores they were ranked by; ``status`` (A, T, N) int8:
    ``matching.TRUE_POSITIVE`` / ``FALSE_POSITIVE`` / ``IGNORED`` per GT-ignore set (area range)
    and threshold; ``gt`` (A, T, N): the matched GT (annotation index), -1 when unmatched (None
    when not asked for).
    """

    kept: np.ndarray
    scores: np.ndarray
    status: np.ndarray
    gt: np.ndarray | None


def threshold_index(thresholds: np.ndarray, value: float) -> int:
    """Index of ``value`` in the OKS thresholds (``linspace(.5, .95, 10)[8]`` is 0.8999...)."""
    hits = np.flatnonzero(np.isclose(thresholds, value))
    if len(hits) != 1:
        raise ValueError(f"OKS threshold {value} is not one of {thresholds.tolist()}")
    return int(hits[0])


def mean_valid(values: np.ndarray) -> float:
    """Mean over entries > -1 (-1 marks 'no GT'); -1.0 when there is none (COCO summarize)."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


class KeypointEvaluator:
    """Keypoint AP/AR of results against one ground-truth file.

    Args:
        gt: path of a COCO-format keypoint GT json.
        dataset: an ``opec.datasets`` name: 'crowdpose' | 'ocpose' | 'demo' (CrowdPose rules: 14
            joints, OKS scale 0.53*w*h of the GT box) or 'coco' | 'ochuman' (pycocotools rules:
            17 joints, stored ``area``).
        protocol: 'official', or 'opec12' (OKS over the 12 body joints with their sigmas; results
            may carry all joints or just the 12).
        easy_medium_hard: report AP_easy/medium/hard (crowdpose/ocpose). For crowdpose a GT without
            ``crowdIndex`` is an error unless this is False; for ocpose they are reported when
            the file has ``crowdIndex``. ``'optional'``: reported when the file has
            ``crowdIndex`` (any dataset that has the split; the occlusion diagnosis reads it so).
        convention: 'official' (the CrowdPose API / pycocotools, the default) or 'xtcocotools'
            (mmpose's evaluator: detections whose joint scores are all <= 0 are dropped; a GT's
            labelled joints are counted from v > 0 for coco/ochuman -- and for crowdpose where
            ``num_keypoints`` is absent; AP_easy/medium/hard rounded to 4 decimals).

    Besides :meth:`evaluate`, the steps are public for the occlusion diagnosis (opec.analysis):
    :meth:`read`, :meth:`pair_list` (the OKS of all pairs), :meth:`kept`, :meth:`match` (with other
    scores, OKS, ignore flags) and :meth:`accumulate`.

    Raises:
        EvaluationError: one line naming the file and field, for any bad input.
    """

    def __init__(self, gt: str | os.PathLike, dataset: str, protocol: str = "official",
                 easy_medium_hard: bool | str = True, convention: str = "official"):
        self.rule = dataset_spec(dataset)  # ValueError naming the known datasets
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {list(PROTOCOLS)}")
        if convention not in CONVENTIONS:
            raise ValueError(f"unknown convention {convention!r}; expected one of {list(CONVENTIONS)}")
        self.dataset, self.protocol, self.convention = dataset, protocol, convention
        joints = self.rule.joint_set
        self.num_joints = joints.num_joints
        if protocol == "opec12":
            self.joint_index: Sequence[int] = TO_OPEC12[joints.name]
            self.sigmas = np.array(OPEC12.sigmas)
        else:
            self.joint_index = tuple(range(joints.num_joints))
            self.sigmas = np.array(joints.sigmas)
        if easy_medium_hard == "optional":
            crowd = "ignore" if self.rule.crowd_index == "ignore" else "optional"
        else:
            crowd = self.rule.crowd_index if easy_medium_hard else "ignore"
        xtcocotools = convention == "xtcocotools"
        gt = read_ground_truth(gt, self.num_joints, self.joint_index, self.rule.oks_scale, crowd,
                               require_num_keypoints=not xtcocotools)
        self.gt = gt

        # GT ignore flags: crowd, or no labelled joint -- counted as num_keypoints stores it
        # (official; xtcocotools for CrowdPose's 'keypoints_crowd') or from v > 0 (xtcocotools).
        if xtcocotools and self.rule.oks_scale == "stored":
            labelled = gt.labelled.astype(np.float64)
        elif xtcocotools:
            labelled = np.where(np.isnan(gt.num_keypoints), gt.labelled, gt.num_keypoints)
        else:
            labelled = gt.num_keypoints
        ignored = gt.iscrowd | (labelled == 0)
        # Area ranges evaluated: all three for coco/ochuman (APm/APl), 'all' only otherwise.
        self._ranges = AREA_RANGES if self.rule.area_ranges else AREA_RANGES[:1]
        outside = (gt.areas[None, :] < self._ranges[:, :1]) | (gt.areas[None, :] > self._ranges[:, 1:])
        # GTs by group (image, category), file order within a group.
        groups = gt.image_index * len(gt.category_ids) + gt.category_index
        self._gt_order = np.argsort(groups, kind="stable")
        self._gt_position = np.empty_like(self._gt_order)  # of each annotation in that order
        self._gt_position[self._gt_order] = np.arange(len(self._gt_order))
        self._gt_keys, self._gt_start, self._gt_count = np.unique(groups[self._gt_order], return_index=True,
                                                                  return_counts=True)
        self.gt_ignored = ignored | outside                                # (A, G) per area range
        self._gt_ignored = self.gt_ignored[:, self._gt_order]              # (A, G) in group order
        self._gt_crowd = gt.iscrowd[self._gt_order]
        self._gt_labelled_boxes = labelled_boxes(gt.keypoints)
        self._gt_tables = gt_tables(gt.keypoints, gt.boxes, gt.areas)

        self._subsets = None
        if gt.crowd_index is not None:
            easy, medium = CROWD_SPLIT
            self._subsets = {
                "AP_easy": gt.crowd_index < easy,
                "AP_medium": (gt.crowd_index >= easy) & (gt.crowd_index < medium),
                "AP_hard": gt.crowd_index >= medium,
            }

    def metric_keys(self) -> tuple[str, ...]:
        """The keys :meth:`evaluate` returns for this dataset and GT."""
        keys = MAIN_KEYS
        if self._subsets is not None:
            keys += CROWD_KEYS
        if self.rule.area_ranges:
            keys += AREA_KEYS
        return keys

    def evaluate(self, results) -> dict[str, float]:
        """AP/AR of ``results`` (a list of result dicts or the path of a results json).

        Result dicts need ``image_id`` (int or upstream-style "103319.jpg"), ``category_id``,
        ``keypoints`` (x, y, score per joint) and ``score``; an extra ``bbox`` is accepted. The
        input is not modified. Returns floats keyed by :meth:`metric_keys`; AP_easy/medium/hard
        unrounded under the official convention (the CrowdPose API prints them rounded to 4
        decimals), rounded under xtcocotools', -1.0 for an empty subset. An empty results list
        gives 0.0 AP/AR (-1.0 where the GT has no scorable person).
        """
        return self.evaluate_detailed(results)[0]

    def evaluate_detailed(self, results) -> tuple[dict[str, float], dict[str, float]]:
        """:meth:`evaluate` plus the AP at each OKS threshold, keyed "0.50" ... "0.95"."""
        detections = self.read(results)
        kept, status, _ = self._match(detections, return_gt=False)
        # Detections image by image (sorted ids), best first: a stable sort by score gives
        # pycocotools' accumulation order for any subset of images.
        order = kept[np.argsort(-detections.scores[kept], kind="mergesort")]
        position = np.empty(len(detections.scores), dtype=np.intp)
        position[kept] = np.arange(len(kept))
        by_score = position[order]
        precision, recall = self._accumulate(detections, order, status[:, :, by_score], None, self._gt_ignored)

        metrics = {"AP": mean_valid(precision[:, :, :, 0]), "AR": mean_valid(recall[:, :, 0])}
        for oks in (0.5, 0.75, 0.8, 0.9):
            t = threshold_index(OKS_THRESHOLDS, oks)
            metrics[f"AP{round(oks * 100)}"] = mean_valid(precision[t, :, :, 0])
            if oks in (0.5, 0.75):
                metrics[f"AR{round(oks * 100)}"] = mean_valid(recall[t, :, 0])
        if self.rule.area_ranges:
            for area, suffix in ((1, "m"), (2, "l")):
                metrics[f"AP{suffix}"] = mean_valid(precision[:, :, :, area])
                metrics[f"AR{suffix}"] = mean_valid(recall[:, :, area])
        per_threshold = {f"{oks:.2f}": mean_valid(precision[t, :, :, 0]) for t, oks in enumerate(OKS_THRESHOLDS)}
        for key, images in (self._subsets or {}).items():
            # CrowdPose API: the subset re-evaluated alone, then the plain mean of its precision
            # over all thresholds and recall points *including* -1 entries.
            subset, _ = self._accumulate(detections, order, status[:1, :, by_score], images, self._gt_ignored[:1])
            value = float(np.mean(subset[:, :, :, 0]))
            metrics[key] = round(value, 4) if self.convention == "xtcocotools" else value
        return {key: metrics[key] for key in self.metric_keys()}, per_threshold

    def read(self, results) -> Detections:
        """Read and check ``results`` (a list of result dicts or a results json path) against the GT."""
        return read_results(results, self.gt, self.num_joints, self.joint_index)

    def pair_list(self, detections: Detections) -> PairList:
        """Every (detection, GT) pair of the same image and category, with its exact OKS (all pairs,
        unlike :meth:`evaluate`, which skips the pairs that cannot reach OKS 0.5)."""
        ranked, keys, counts = self._rank(detections, detections.scores, self._usable(detections))
        pair_dt, pair_gt, column = self._group_pairs(ranked, keys, counts)
        first = np.zeros(len(detections.scores), dtype=np.intp)
        starts = np.flatnonzero(column == 0)
        first[pair_dt[starts]] = starts
        oks = pair_oks(self._gt_tables, detections.xy, pair_gt, pair_dt, self.sigmas)
        return PairList(pair_dt, pair_gt, oks, first)

    def kept(self, detections: Detections, scores: np.ndarray | None = None,
             removed: np.ndarray | None = None) -> np.ndarray:
        """Indices of the detections that count: at most 20 per image and category, best ``scores``
        (default the file's) first, ties in file order; ``removed`` (D,) ones do not count at all."""
        return self._kept(detections, scores, removed)[0]

    def match(self, detections: Detections, thresholds: np.ndarray = OKS_THRESHOLDS, *,
              scores: np.ndarray | None = None, removed: np.ndarray | None = None, pairs: PairList | None = None,
              gt_ignored: np.ndarray | None = None, dt_outside: np.ndarray | None = None,
              return_gt: bool = True) -> Matching:
        """The evaluators' greedy matching of the kept detections (:meth:`kept`) at each threshold.

        Args:
            thresholds: (T,) OKS thresholds (default 0.50:0.05:0.95).
            scores: (D,) detection scores (default the file's). removed: (D,) detections left out.
            pairs: the OKS to match with, :meth:`pair_list` (possibly with changed values); default
                the evaluator's own.
            gt_ignored: (A, G) GT ignore flags per set (default the area ranges' flags: crowd, no
                labelled joint, area outside the range). dt_outside: (A, D) detections ignored when
                left unmatched (outside the set, as for an area range; the detections outside the
                area range 'all' always are). Given together.
            return_gt: also find which GT each detection matched (``Matching.gt``; else None).
        """
        kept, status, matched = self._match(detections, thresholds, scores, removed, pairs, gt_ignored, dt_outside,
                                            return_gt)
        gt = None if matched is None else np.where(matched >= 0, self._gt_order[np.maximum(matched, 0)], -1)
        return Matching(kept, detections.scores if scores is None else scores, status, gt)

    def accumulate(self, detections: Detections, matching: Matching, images: np.ndarray | None = None,
                   gt_ignored: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Precision (T, 101, C, A) and recall (T, C, A) of a :meth:`match` result, in descending
        order of its scores, over ``images`` ((I,) bool over ``gt.image_ids``; None = all);
        ``gt_ignored`` (A, G) the flags it was matched with (default the area ranges')."""
        order = np.argsort(-matching.scores[matching.kept], kind="mergesort")
        ignored = self._gt_ignored if gt_ignored is None else gt_ignored[:, self._gt_order]
        return self._accumulate(detections, matching.kept[order], matching.status[:, :, order], images, ignored)

    def _usable(self, detections: Detections) -> np.ndarray:
        """(D,) the detections the convention evaluates (xtcocotools drops those without a joint score > 0)."""
        if self.convention == "xtcocotools":
            return detections.any_joint_score
        return np.ones(len(detections.scores), dtype=bool)

    def _rank(self, detections: Detections, scores: np.ndarray,
              usable: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The usable detections by group (image, category), best score first, ties in file order;
        the group keys holding detections and their counts."""
        groups = detections.image_index * len(self.gt.category_ids) + detections.category_index
        candidates = np.flatnonzero(usable)
        ranked = candidates[np.lexsort((candidates, -scores[candidates], groups[candidates]))]
        keys, counts = np.unique(groups[ranked], return_counts=True)
        return ranked, keys, counts

    def _kept(self, detections: Detections, scores: np.ndarray | None,
              removed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`kept`, with the group keys and counts of the kept detections."""
        usable = self._usable(detections)
        if removed is not None:
            usable = usable & ~removed
        ranked, keys, counts = self._rank(detections, detections.scores if scores is None else scores, usable)
        rank = ragged(counts)[1]
        return ranked[rank < MAX_DETECTIONS], keys, np.minimum(counts, MAX_DETECTIONS)

    def _group_pairs(self, dts: np.ndarray, keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, ...]:
        """Pairs of the detections ``dts`` (by group; ``counts`` per group key) with their group's
        GTs in file order: pair_dt, pair_gt and the GT's position in the group."""
        dt_start = np.cumsum(counts) - counts
        _, dt_pos, gt_pos = np.intersect1d(keys, self._gt_keys, assume_unique=True, return_indices=True)
        n_dt, n_gt = counts[dt_pos], self._gt_count[gt_pos]
        pair_group, within = ragged(n_dt * n_gt)
        column = within % n_gt[pair_group]
        pair_dt = dts[dt_start[dt_pos][pair_group] + within // n_gt[pair_group]]
        pair_gt = self._gt_order[self._gt_start[gt_pos][pair_group] + column]
        return pair_dt, pair_gt, column

    def _match(self, detections: Detections, thresholds: np.ndarray = OKS_THRESHOLDS,
               scores: np.ndarray | None = None, removed: np.ndarray | None = None, pairs: PairList | None = None,
               gt_ignored: np.ndarray | None = None,
               dt_outside: np.ndarray | None = None,
               return_gt: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The kept detections (indices, by group then rank), their (A, T, kept) match status and
        matched GT (position in the GT group order, -1 when unmatched; None unless ``return_gt``);
        arguments of :meth:`match`."""
        gt = self.gt
        kept, keys, counts = self._kept(detections, scores, removed)
        position = np.full(len(detections.scores), -1)  # of each kept detection in ``kept``
        position[kept] = np.arange(len(kept))
        if pairs is None:
            pair_dt, pair_gt = self._group_pairs(kept, keys, counts)[:2]
            # Only pairs that can reach OKS 0.5 matter to the matching.
            near = np.flatnonzero(may_match(self._gt_labelled_boxes, gt.areas, detections.boxes, pair_gt, pair_dt,
                                            self.sigmas))
            pair_dt, pair_gt = pair_dt[near], pair_gt[near]
            oks = pair_oks(self._gt_tables, detections.xy, pair_gt, pair_dt, self.sigmas)
        else:
            limit = np.min(thresholds, initial=np.inf)
            listed = np.flatnonzero((pairs.oks >= min(limit, 1 - 1e-10)) & (position[pairs.dt] >= 0))
            pair_dt, pair_gt, oks = pairs.dt[listed], pairs.gt[listed], pairs.oks[listed]
        rank = ragged(counts)[1]  # of each kept detection in its group
        dt_pos = position[pair_dt]

        area = detections.areas[kept]
        outside = (area[None, :] < self._ranges[:, :1]) | (area[None, :] > self._ranges[:, 1:])
        ignored = self._gt_ignored
        if gt_ignored is not None:
            ignored = gt_ignored[:, self._gt_order]
            outside = outside[:1] | dt_outside[:, kept]
        status, matched = match_images(dt_pos, rank[dt_pos], self._gt_position[pair_gt], oks, ignored, self._gt_crowd,
                                       outside, np.asarray(thresholds, dtype=np.float64), return_gt)
        return kept, status, matched

    def _accumulate(self, detections: Detections, order: np.ndarray, status: np.ndarray,
                    images: np.ndarray | None, gt_ignored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """precision (T, R, K, A) and recall (T, K, A) over ``images`` (a bool mask over the GT's
        image ids; None = all); ``order``/``status`` are the kept detections by descending score,
        ``gt_ignored`` (A, G) the GT ignore flags in the GT group order."""
        gt = self.gt
        categories, thresholds, areas = len(gt.category_ids), status.shape[1], len(gt_ignored)
        precision = -np.ones((thresholds, len(RECALL_POINTS), categories, areas))
        recall = -np.ones((thresholds, categories, areas))
        dt_category = detections.category_index[order]
        gt_category = gt.category_index[self._gt_order]
        dt_in = np.ones(len(order), dtype=bool) if images is None else images[detections.image_index[order]]
        gt_in = np.ones(len(gt_category), dtype=bool) if images is None else images[gt.image_index[self._gt_order]]
        for k in range(categories):
            selected = dt_in & (dt_category == k) if categories > 1 or images is not None else slice(None)
            gts = gt_in & (gt_category == k)
            for a in range(areas):
                positives = int(np.count_nonzero(gts & ~gt_ignored[a]))
                precision[:, :, k, a], recall[:, k, a] = precision_recall(status[a][:, selected], positives)
        return precision, recall


def evaluate_keypoints(gt: str | os.PathLike, results, dataset: str, protocol: str = "official",
                       **kwargs) -> dict[str, float]:
    """One-shot :class:`KeypointEvaluator` ``(gt, dataset, protocol, **kwargs).evaluate(results)``."""
    return KeypointEvaluator(gt, dataset, protocol, **kwargs).evaluate(results)
