"""The ``xtcocotools`` convention (mmpose's numbers) on hand-built cases, against the default.

xtcocotools drops detections whose joint scores are all <= 0 before anything else (so they do
not count towards the 20 per image either), counts a coco/ochuman GT's labelled joints from
v > 0 instead of reading ``num_keypoints`` (CrowdPose keeps the stored count; a missing one is
counted), and rounds AP_easy/medium/hard to 4 decimals.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from tests.evaluation.eval_builders import gt_annotation, person, result

from opec.evaluation import EvaluationError, KeypointEvaluator, evaluate_keypoints


def zero_scores(joints_xy: np.ndarray, value: float = 0.0) -> np.ndarray:
    return np.concatenate([joints_xy, np.full((len(joints_xy), 1), value)], axis=1)


@pytest.fixture
def one_person(gt_writer):
    joints = person(0, 0, 100, 200, 14)
    return joints, gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])


def test_all_zero_score_false_positive_is_dropped(one_person):
    joints, gt = one_person
    results = [result(1, zero_scores(joints[:, :2] + 3000), 0.9), result(1, joints[:, :2], 0.5)]
    # Official: the far detection ranks first and is a false positive -> precision 1/2 everywhere.
    assert evaluate_keypoints(gt, results, "crowdpose")["AP"] == pytest.approx(0.5, abs=1e-12)
    assert evaluate_keypoints(gt, results, "crowdpose", convention="xtcocotools")["AP"] == \
        pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("score, dropped", [(0.0, True), (-0.3, True), (0.01, False)])
def test_all_zero_score_true_positive(one_person, score, dropped):
    """A perfect detection whose joint scores are all <= 0 is a miss under xtcocotools only."""
    joints, gt = one_person
    results = [result(1, zero_scores(joints[:, :2], score), 0.9)]
    assert evaluate_keypoints(gt, results, "crowdpose")["AP"] == pytest.approx(1.0, abs=1e-12)
    xt = evaluate_keypoints(gt, results, "crowdpose", convention="xtcocotools")["AP"]
    assert xt == (0.0 if dropped else pytest.approx(1.0, abs=1e-12))


def test_dropped_detections_do_not_take_the_twenty_slots(one_person):
    joints, gt = one_person
    results = [result(1, zero_scores(joints[:, :2] + 3000 + k), 0.9 - 0.01 * k) for k in range(20)]
    results.append(result(1, joints[:, :2], 0.01))  # 21st by score: cut officially
    assert evaluate_keypoints(gt, results, "crowdpose")["AP"] == 0.0
    assert evaluate_keypoints(gt, results, "crowdpose", convention="xtcocotools")["AP"] == \
        pytest.approx(1.0, abs=1e-12)


def test_gt_without_num_keypoints(tmp_path):
    joints = person(0, 0, 100, 200, 17)
    empty = np.zeros((17, 3))
    anns = [gt_annotation(1, joints, (0, 0, 100, 200), area=20000.0),
            gt_annotation(1, empty, (500, 0, 100, 200), area=20000.0)]
    for k, ann in enumerate(anns):
        ann["id"] = k + 1
        del ann["num_keypoints"]
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({"images": [{"id": 1}], "annotations": anns, "categories": [{"id": 1}]}))
    results = [result(1, joints[:, :2], 0.9), result(1, person(520, 20, 50, 50, 17)[:, :2], 0.95)]
    with pytest.raises(EvaluationError, match=r"annotations\[0\].num_keypoints"):
        KeypointEvaluator(gt, "coco")
    # Counted from v > 0: the first GT is scorable, the second (no labelled joint) is ignored --
    # else one detection would reach recall 1/2 only (AP 0.5).
    evaluator = KeypointEvaluator(gt, "coco", convention="xtcocotools")
    assert evaluator.evaluate(results[:1])["AP"] == pytest.approx(1.0, abs=1e-12)
    # As an ignore region it absorbs the better-scored detection inside its enlarged box (no FP).
    assert evaluator.evaluate(results)["AP"] == pytest.approx(1.0, abs=1e-12)


def test_coco_num_keypoints_recounted_crowdpose_kept(gt_writer):
    """A GT with labelled joints but a stored num_keypoints of 0: ignored officially (both
    datasets); xtcocotools recounts it for coco, keeps the stored count for CrowdPose."""
    coco_joints = person(0, 0, 100, 200, 17)
    coco = gt_writer("coco", {1: None}, [gt_annotation(1, coco_joints, (0, 0, 100, 200), area=20000.0,
                                                       num_keypoints=0)])
    coco_results = [result(1, coco_joints[:, :2], 0.9)]
    assert evaluate_keypoints(coco, coco_results, "coco")["AP"] == -1.0
    assert evaluate_keypoints(coco, coco_results, "coco", convention="xtcocotools")["AP"] == \
        pytest.approx(1.0, abs=1e-12)
    joints = person(0, 0, 100, 200, 14)
    crowd = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200), num_keypoints=0)])
    assert evaluate_keypoints(crowd, [result(1, joints[:, :2], 0.9)], "crowdpose",
                              convention="xtcocotools")["AP"] == -1.0


def test_easy_medium_hard_rounded_to_four_decimals(gt_writer):
    """Three GTs in a medium image; TP, FP, TP by score: precision 1 up to recall 1/3 (34 recall
    points), 2/3 up to 2/3 (33 points), 0 after: AP_medium = (34 + 33 * 2/3) / 101 = 56/101."""
    gts, boxes = [], [(0, 0, 100, 200), (300, 0, 100, 200), (600, 0, 100, 200)]
    for box in boxes:
        gts.append(gt_annotation(1, person(*box, 14), box))
    gt = gt_writer("crowdpose", {1: 0.5}, gts)
    results = [result(1, person(*boxes[0], 14)[:, :2], 0.9), result(1, person(*boxes[0], 14)[:, :2] + 3000, 0.8),
               result(1, person(*boxes[1], 14)[:, :2], 0.7)]
    official = evaluate_keypoints(gt, results, "crowdpose")["AP_medium"]
    assert official == pytest.approx(56 / 101, abs=1e-9) and official != round(official, 4)
    assert evaluate_keypoints(gt, results, "crowdpose", convention="xtcocotools")["AP_medium"] == 0.5545


def test_unknown_convention(one_person):
    with pytest.raises(ValueError, match="unknown convention"):
        KeypointEvaluator(one_person[1], "crowdpose", convention="mmpose")
