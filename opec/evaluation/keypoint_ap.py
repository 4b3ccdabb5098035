"""Keypoint AP/AR identical to the official evaluators (CrowdPose API, pycocotools keypoints).

The matching core (per-image greedy matching, accumulation over 101 recall points, ignore
regions, score truncation) is faster-coco-eval's ``COCOeval_faster``. Written here is only what no
library does:

* the dataset rules: CrowdPose's OKS scale 0.53 * w * h of the GT box and its 14 sigmas;
  pycocotools' stored ``area`` and 17 COCO sigmas for coco / ochuman;
* the OPEC-Net paper protocol ``opec12``: OKS over the 12 body joints only (``sigmas[:12]``);
* AP80 / AP90 (single-threshold AP, threshold looked up with ``isclose``);
* the CrowdPose easy / medium / hard split by ``images[].crowdIndex`` < 0.2 / < 0.8, each a full
  re-evaluation on its image subset;
* OKS for all images in one numpy batch (``oks.py``): the library's per-person Python loop is
  most of its run time; the batch gives bit-identical matrices (tested against the library),
  computed once per ``evaluate`` and reused by the subset re-evaluations.

Ground truth is read and checked once per :class:`KeypointEvaluator`; ``evaluate`` can be called
any number of times (training evaluates twice per epoch).
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from faster_coco_eval import COCO
from faster_coco_eval.core.faster_eval_api import COCOeval_faster

from opec.keypoints import COCO17, CROWDPOSE14, OPEC12, TO_OPEC12, JointSet
from opec.evaluation.oks import batched_oks
from opec.evaluation.validation import read_ground_truth, read_results

DATASETS = ("crowdpose", "coco", "ochuman", "ocpose")
PROTOCOLS = ("official", "opec12")
MAIN_KEYS = ("AP", "AP50", "AP75", "AP80", "AP90", "AR", "AR50", "AR75")
CROWD_KEYS = ("AP_easy", "AP_medium", "AP_hard")
AREA_KEYS = ("APm", "APl", "ARm", "ARl")
# CrowdPose API: easy = crowdIndex < 0.2, medium = 0.2 <= ci < 0.8, hard = ci >= 0.8 (the values
# summarize() passes, not the method's own 0.01 / 0.85 defaults).
CROWD_SPLIT = (0.2, 0.8)


@dataclass(frozen=True)
class DatasetRule:
    joint_set: JointSet
    oks_scale: str      # 'bbox053' (0.53 * GT box w*h) or 'stored' (GT area)
    crowd_index: str    # 'required', 'optional' or 'ignore'
    area_ranges: bool   # report APm/APl/ARm/ARl


RULES = {
    "crowdpose": DatasetRule(CROWDPOSE14, "bbox053", "required", False),
    # OCPose's annotation file is no longer public: taken as CrowdPose-format (docs/evaluation.md).
    "ocpose": DatasetRule(CROWDPOSE14, "bbox053", "optional", False),
    "coco": DatasetRule(COCO17, "stored", "ignore", True),
    "ochuman": DatasetRule(COCO17, "stored", "ignore", True),
}


class _PrecomputedOksEval(COCOeval_faster):
    """``COCOeval_faster`` fed with OKS matrices computed beforehand for every image
    (:func:`batched_oks`, bit-identical to the library's own), so neither the full evaluation nor
    the easy / medium / hard re-evaluations run the library's per-person OKS loop."""

    oks: dict

    def computeOks(self, imgId, catId):  # noqa: N802 (library hook name)
        return self.oks.get((imgId, catId), [])


def _threshold_index(thresholds: np.ndarray, value: float) -> int:
    """Index of ``value`` in the OKS thresholds (``linspace(.5, .95, 10)[8]`` is 0.8999...)."""
    hits = np.flatnonzero(np.isclose(thresholds, value))
    if len(hits) != 1:
        raise ValueError(f"OKS threshold {value} is not one of {thresholds.tolist()}")
    return int(hits[0])


def _mean_valid(values: np.ndarray) -> float:
    """Mean over entries > -1 (-1 marks 'no GT'); -1.0 when there is none (COCO summarize)."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


class KeypointEvaluator:
    """Keypoint AP/AR of results against one ground-truth file.

    Args:
        gt: path of a COCO-format keypoint GT json.
        dataset: 'crowdpose' | 'ocpose' (CrowdPose rules: 14 joints, OKS scale 0.53*w*h of the GT
            box) or 'coco' | 'ochuman' (pycocotools rules: 17 joints, stored ``area``).
        protocol: 'official', or 'opec12' (OKS over the 12 body joints with their sigmas; results
            may carry all joints or just the 12).
        easy_medium_hard: report AP_easy/medium/hard (crowdpose/ocpose). For crowdpose a GT without
            ``crowdIndex`` is an error unless this is False; for ocpose they are reported when
            the file has ``crowdIndex``.

    Raises:
        EvaluationError: one line naming the file and field, for any bad input.
    """

    def __init__(self, gt: str | os.PathLike, dataset: str, protocol: str = "official",
                 easy_medium_hard: bool = True):
        if dataset not in RULES:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {list(DATASETS)}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; expected one of {list(PROTOCOLS)}")
        self.dataset, self.protocol = dataset, protocol
        self.rule = RULES[dataset]
        joints = self.rule.joint_set
        self.num_joints = joints.num_joints
        if protocol == "opec12":
            self.joint_index: Sequence[int] = TO_OPEC12[joints.name]
            self.sigmas = np.array(OPEC12.sigmas)
        else:
            self.joint_index = tuple(range(joints.num_joints))
            self.sigmas = np.array(joints.sigmas)
        crowd = self.rule.crowd_index if easy_medium_hard else "ignore"
        self.gt = read_ground_truth(gt, self.num_joints, self.joint_index, self.rule.oks_scale, crowd)
        self._coco_gt = COCO({"images": self.gt.images, "annotations": self.gt.annotations,
                              "categories": self.gt.categories}, print_function=lambda *args: None)
        self._subsets = None
        if self.gt.crowd_index is not None:
            ids = np.array(sorted(self.gt.crowd_index))
            crowd_index = np.array([self.gt.crowd_index[i] for i in ids])
            easy, medium = CROWD_SPLIT
            self._subsets = {
                "AP_easy": ids[crowd_index < easy].tolist(),
                "AP_medium": ids[(crowd_index >= easy) & (crowd_index < medium)].tolist(),
                "AP_hard": ids[crowd_index >= medium].tolist(),
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
        unrounded (the CrowdPose API prints them rounded to 4 decimals), -1.0 for an empty subset.
        An empty results list gives 0.0 AP/AR (-1.0 where the GT has no scorable person).
        """
        return self.evaluate_detailed(results)[0]

    def evaluate_detailed(self, results) -> tuple[dict[str, float], dict[str, float]]:
        """:meth:`evaluate` plus the AP at each OKS threshold, keyed "0.50" ... "0.95"."""
        detections = read_results(results, self.gt, self.num_joints, self.joint_index)
        coco_dt = COCO(print_function=lambda *args: None)
        coco_dt.dataset = {"images": self.gt.images, "annotations": detections.records,
                           "categories": self.gt.categories}
        coco_dt.createIndex()
        evaluator = _PrecomputedOksEval(self._coco_gt, coco_dt, "keypoints", kpt_oks_sigmas=self.sigmas,
                                        print_function=lambda *args: None)
        evaluator.oks = self._oks_matrices(detections, evaluator.params.maxDets[-1])
        evaluator.evaluate()
        evaluator.accumulate()
        metrics = self._summary(evaluator)
        precision = evaluator.eval["precision"]
        per_threshold = {f"{oks:.2f}": _mean_valid(precision[t, :, :, 0, -1])
                         for t, oks in enumerate(evaluator.params.iouThrs)}
        if self._subsets is not None:
            for key, image_ids in self._subsets.items():
                metrics[key] = self._subset_ap(evaluator, image_ids)
        return {key: metrics[key] for key in self.metric_keys()}, per_threshold

    def _oks_matrices(self, detections, max_dets: int) -> dict[tuple[int, int], np.ndarray]:
        """{(image id, category id): (n_dt, n_gt) OKS} for every image with detections and GTs."""
        gt = self.gt
        category_ids = np.array(sorted(category["id"] for category in gt.categories))
        count = len(category_ids)
        gt_group = gt.image_ids * count + np.searchsorted(category_ids, gt.category_ids)
        dt_group = detections.image_ids * count + np.searchsorted(category_ids, detections.category_ids)
        matrices = batched_oks(gt_group, gt.keypoints, gt.boxes, gt.areas, dt_group, detections.xy,
                               detections.scores, self.sigmas, max_dets)
        return {(int(key // count), int(category_ids[key % count])): matrix for key, matrix in matrices.items()}

    @staticmethod
    def _summary(evaluator: COCOeval_faster) -> dict[str, float]:
        """AP/AR from the accumulated arrays: precision [T,R,K,A,M], recall [T,K,A,M]."""
        precision, recall = evaluator.eval["precision"], evaluator.eval["recall"]
        thresholds = evaluator.params.iouThrs
        metrics = {"AP": _mean_valid(precision[:, :, :, 0, -1]), "AR": _mean_valid(recall[:, :, 0, -1])}
        for oks in (0.5, 0.75, 0.8, 0.9):
            t = _threshold_index(thresholds, oks)
            metrics[f"AP{round(oks * 100)}"] = _mean_valid(precision[t, :, :, 0, -1])
            if oks in (0.5, 0.75):
                metrics[f"AR{round(oks * 100)}"] = _mean_valid(recall[t, :, 0, -1])
        for area, suffix in ((1, "m"), (2, "l")):
            metrics[f"AP{suffix}"] = _mean_valid(precision[:, :, :, area, -1])
            metrics[f"AR{suffix}"] = _mean_valid(recall[:, :, area, -1])
        return metrics

    @staticmethod
    def _subset_ap(evaluator: _PrecomputedOksEval, image_ids: list[int]) -> float:
        """CrowdPose API's subset AP: re-evaluate on the subset's images only, then the plain mean
        of precision over all thresholds and recall points *including* -1 entries."""
        if not image_ids:
            return -1.0
        evaluator.params.imgIds = image_ids
        evaluator.evaluate()
        evaluator.accumulate()
        return float(np.mean(evaluator.eval["precision"][:, :, :, 0, :]))


def evaluate_keypoints(gt: str | os.PathLike, results, dataset: str, protocol: str = "official",
                       **kwargs) -> dict[str, float]:
    """One-shot :class:`KeypointEvaluator` ``(gt, dataset, protocol, **kwargs).evaluate(results)``."""
    return KeypointEvaluator(gt, dataset, protocol, **kwargs).evaluate(results)



