"""Ground truth and one results file as the arrays every analysis step works on, read by the
evaluator.

:class:`Truth` is a :class:`~opec.evaluation.KeypointEvaluator` of the GT (same rules, same
one-line errors) plus what the taxonomy and the slices need. A :class:`Scene` is one results file
read by that evaluator, with the OKS of every (detection, GT) pair of an image computed once
(:meth:`KeypointEvaluator.pair_list`, bit-identical to the evaluator's OKS). Matching and
accumulation are the evaluator's own (:meth:`KeypointEvaluator.match`,
:meth:`KeypointEvaluator.accumulate`): there is one evaluation engine. Dataset rules (joints,
sigmas, OKS scale) come from ``opec.datasets``; see docs/evaluation.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from opec.evaluation.keypoint_ap import KeypointEvaluator, PairList
from opec.evaluation.oks import gt_tables
from opec.evaluation.inputs import Detections, GroundTruth
from opec.keypoints import OPEC12


@dataclass
class Truth:
    """Ground truth of one dataset / protocol, read once (a Scene per results file shares it).

    ``evaluator`` reads, matches and accumulates; ``gt`` is its :class:`GroundTruth`:
    ``keypoints`` (G, K, 3) x, y, v of the evaluated joints, ``boxes`` (G, 4) x, y, w, h, ``areas``
    (G,) the OKS scale, ``image_index`` (G,) position of the annotation's image in ``image_ids``.
    ``ignore`` (G,): the evaluator's ignore regions (iscrowd, no labelled joint, area outside
    'all'); ``crowd`` (G,): iscrowd. ``sigmas`` (K,), ``flip`` (K,) the left/right mirror
    permutation of the evaluated joints, ``joint_names`` (K,); ``oks_tables`` the GT arrays of
    :func:`opec.evaluation.oks.pair_oks` (for the OKS of moved joints).
    """

    dataset: str
    protocol: str
    evaluator: KeypointEvaluator
    gt: GroundTruth
    sigmas: np.ndarray
    flip: np.ndarray
    joint_names: tuple[str, ...]
    ignore: np.ndarray
    crowd: np.ndarray
    oks_tables: dict[str, np.ndarray]

    @classmethod
    def read(cls, path: str | os.PathLike, dataset: str, protocol: str = "official") -> "Truth":
        """Read and check a GT file (raises :class:`~opec.evaluation.EvaluationError`).
        ``images[].crowdIndex`` is read when present (the crowd-level slices), never required."""
        evaluator = KeypointEvaluator(path, dataset, protocol, easy_medium_hard="optional")
        joints = OPEC12 if protocol == "opec12" else evaluator.rule.joint_set
        gt = evaluator.gt
        return cls(dataset, protocol, evaluator, gt, evaluator.sigmas, np.array(joints.flip_index()),
                   tuple(joints.joints), evaluator.gt_ignored[0].copy(), gt.iscrowd,
                   gt_tables(gt.keypoints, gt.boxes, gt.areas))


@dataclass
class Scene:
    """One results file against a :class:`Truth`.

    ``detections``: the evaluator's :class:`Detections` (``xy`` (D, K, 2), ``scores`` (D,),
    ``joint_scores`` (D, K), ``image_index`` (D,)). ``pairs``: every (detection, GT) pair of an
    image with its OKS (:class:`PairList`: ``dt``, ``gt``, ``oks`` (P,); a detection's pairs are
    contiguous, ordered by image, score rank, GT file order).
    """

    truth: Truth
    source: str
    detections: Detections
    pairs: PairList

    @classmethod
    def read(cls, truth: Truth, results) -> "Scene":
        """``results``: a results list or the path of a results JSON (checked like the evaluator)."""
        source = str(results) if isinstance(results, (str, os.PathLike)) else "results"
        detections = truth.evaluator.read(results)
        return cls(truth, source, detections, truth.evaluator.pair_list(detections))

    @property
    def xy(self) -> np.ndarray:
        return self.detections.xy

    @property
    def scores(self) -> np.ndarray:
        return self.detections.scores

    @property
    def num_detections(self) -> int:
        return len(self.detections.scores)
