"""Ground truth and one results file as the flat arrays every analysis step works on.

A :class:`Scene` reads and checks both files with the evaluator's readers (same rules, same
one-line errors), computes the OKS of every (detection, GT) pair of an image once with the
evaluator's :func:`~opec.evaluation.oks.batched_oks` (bit-identical to the evaluator's matrices),
and keeps them as a flat *pair list*: pairs are ordered by image (group), then by the detection's
score rank in the image, then by GT file order, so each detection's pairs are contiguous.

A *group* is one (image, category), keyed ``image_id * n_categories + category position`` as in
the evaluator. Dataset rules (joints, sigmas, OKS scale) come from
:data:`opec.evaluation.keypoint_ap.RULES`; see docs/evaluation.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from opec.evaluation.keypoint_ap import PROTOCOLS, RULES
from opec.evaluation.oks import batched_oks
from opec.evaluation.validation import GroundTruth, read_ground_truth, read_results
from opec.keypoints import OPEC12, TO_OPEC12

MAX_DETS = 20  # detections per image that count (the evaluators' maxDets)


@dataclass
class Truth:
    """Ground truth of one dataset / protocol, read once (a Scene per results file shares it).

    ``gt`` is the evaluator's :class:`GroundTruth`: ``keypoints`` (G, K, 3) x, y, v of the
    evaluated joints, ``boxes`` (G, 4) x, y, w, h, ``areas`` (G,) the OKS scale.
    ``ignore`` (G,): iscrowd or stored num_keypoints == 0 (the evaluators' ignore regions);
    ``crowd`` (G,): iscrowd. ``group`` (G,) group key. ``sigmas`` (K,), ``flip`` (K,) the
    left/right mirror permutation of the evaluated joints, ``joint_names`` (K,).
    """

    dataset: str
    protocol: str
    gt: GroundTruth
    num_joints: int
    joint_index: tuple[int, ...]
    sigmas: np.ndarray
    flip: np.ndarray
    joint_names: tuple[str, ...]
    ignore: np.ndarray
    crowd: np.ndarray
    group: np.ndarray
    category_ids: np.ndarray

    @classmethod
    def read(cls, path: str | os.PathLike, dataset: str, protocol: str = "official") -> "Truth":
        """Read and check a GT file (raises :class:`~opec.evaluation.EvaluationError`)."""
        if dataset not in RULES:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {sorted(RULES)}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {list(PROTOCOLS)}")
        rule = RULES[dataset]
        joints = rule.joint_set
        if protocol == "opec12":
            joint_index, names = tuple(TO_OPEC12[joints.name]), OPEC12.joints
            sigmas, flip = np.array(OPEC12.sigmas), np.array(OPEC12.flip_index())
        else:
            joint_index, names = tuple(range(joints.num_joints)), joints.joints
            sigmas, flip = np.array(joints.sigmas), np.array(joints.flip_index())
        # crowdIndex is read when present (the crowd-level slices), never required.
        crowd_rule = "ignore" if rule.crowd_index == "ignore" else "optional"
        gt = read_ground_truth(path, joints.num_joints, joint_index, rule.oks_scale, crowd_rule)
        crowd = np.array([ann["iscrowd"] != 0 for ann in gt.annotations], dtype=bool)
        no_joints = np.array([ann["num_keypoints"] == 0 for ann in gt.annotations], dtype=bool)
        # The evaluators' area range 'all' is [0, 1e10]: a GT outside it is ignored too.
        ignore = crowd | no_joints | (gt.areas < 0) | (gt.areas > 1e10)
        category_ids = np.array(sorted(category["id"] for category in gt.categories), dtype=np.int64)
        group = gt.image_ids * len(category_ids) + np.searchsorted(category_ids, gt.category_ids)
        return cls(dataset, protocol, gt, joints.num_joints, joint_index, sigmas, flip, tuple(names),
                   ignore, crowd, group, category_ids)

    @property
    def num_categories(self) -> int:
        return len(self.category_ids)


@dataclass
class Scene:
    """One results file against a :class:`Truth`.

    Detections: ``xy`` (D, K, 2), ``scores`` (D,), ``joint_scores`` (D, K), ``group`` (D,),
    ``rank`` (D,) position by descending score in its group (ties in file order).
    Pairs: ``pair_dt`` (P,), ``pair_gt`` (P,), ``oks`` (P,) float64, ordered by group, detection
    rank, GT file order; ``dt_pairs`` (D, 2) start / stop of each detection's pairs.
    """

    truth: Truth
    source: str
    xy: np.ndarray
    scores: np.ndarray
    joint_scores: np.ndarray
    group: np.ndarray
    rank: np.ndarray
    pair_dt: np.ndarray
    pair_gt: np.ndarray
    oks: np.ndarray
    dt_pairs: np.ndarray

    @classmethod
    def read(cls, truth: Truth, results) -> "Scene":
        """``results``: a results list or the path of a results JSON (checked like the evaluator)."""
        source = str(results) if isinstance(results, (str, os.PathLike)) else "results"
        dt = read_results(results, truth.gt, truth.num_joints, truth.joint_index)
        n = len(dt.records)
        k = len(truth.joint_index)
        joint_scores = (np.array([r["keypoints"] for r in dt.records], dtype=np.float64).reshape(n, k, 3)[:, :, 2]
                        if n else np.zeros((0, k)))
        group = dt.image_ids * truth.num_categories + np.searchsorted(truth.category_ids, dt.category_ids)
        return cls.from_arrays(truth, source, dt.xy, dt.scores, joint_scores, group)

    @classmethod
    def from_arrays(cls, truth: Truth, source: str, xy: np.ndarray, scores: np.ndarray,
                    joint_scores: np.ndarray, group: np.ndarray) -> "Scene":
        n = len(scores)
        order = np.lexsort((np.arange(n), -scores, group))      # group, score desc, file order
        _, starts, counts = np.unique(group[order], return_index=True, return_counts=True)
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.arange(n) - np.repeat(starts, counts)
        matrices = batched_oks(truth.group, truth.gt.keypoints, truth.gt.boxes, truth.gt.areas, group, xy,
                               scores, truth.sigmas, max(n, 1))
        gt_order = np.argsort(truth.group, kind="stable")
        gt_keys, gt_starts, gt_counts = np.unique(truth.group[gt_order], return_index=True, return_counts=True)
        # GTs per detection (0 when its image has none), in the pair order.
        n_gt, first = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        if len(gt_keys):
            pos = np.clip(np.searchsorted(gt_keys, group[order]), 0, len(gt_keys) - 1)
            found = gt_keys[pos] == group[order]
            n_gt[found], first[found] = gt_counts[pos[found]], gt_starts[pos[found]]
        pair_dt = np.repeat(order, n_gt)
        within = np.arange(n_gt.sum()) - np.repeat(np.cumsum(n_gt) - n_gt, n_gt)
        pair_gt = gt_order[np.repeat(first, n_gt) + within]
        oks = (np.concatenate([matrices[key].ravel() for key in sorted(matrices)]) if matrices
               else np.zeros(0))
        stops = np.cumsum(n_gt)
        dt_pairs = np.empty((n, 2), dtype=np.int64)
        dt_pairs[order, 0], dt_pairs[order, 1] = stops - n_gt, stops
        return cls(truth, source, xy, scores, joint_scores, group, rank, pair_dt, pair_gt, oks, dt_pairs)

    @property
    def num_detections(self) -> int:
        return len(self.scores)
