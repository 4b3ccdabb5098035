"""Hand-computable keypoint-AP cases, built in the tests.

With one GT and one detection whose OKS is o, the detection is a true positive at every OKS
threshold t <= o (precision 1 at all 101 recall points) and a miss above, so AP = AR = the
fraction of the thresholds 0.50, 0.55, ..., 0.95 that are <= o. ("1" is 1 - 2**-52 in the
official tools: precision = TP / (TP + FP + eps), hence the 1e-12 tolerances.)
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from tests.evaluation.eval_builders import gt_annotation, offset_for_oks, person, result

from opec.evaluation import KeypointEvaluator, evaluate_keypoints
from opec.keypoints import COCO17, CROWDPOSE14

THRESHOLDS = [0.5 + 0.05 * i for i in range(10)]


def expected_ap(oks: float) -> float:
    return sum(t <= oks + 1e-12 for t in THRESHOLDS) / 10


def test_perfect_predictions_give_ap_one(gt_writer):
    gts, results = [], []
    for image_id in (1, 2, 3):
        for k in range(2):
            joints = person(50 + 200 * k, 40, 120, 300, 14)
            gts.append(gt_annotation(image_id, joints, (50 + 200 * k, 40, 120, 300)))
            results.append(result(image_id, joints[:, :2], 0.9 - 0.1 * k))
    gt = gt_writer("crowdpose", {1: 0.1, 2: 0.5, 3: 0.9}, gts)
    metrics = evaluate_keypoints(gt, results, "crowdpose")
    assert set(metrics) == {"AP", "AP50", "AP75", "AP80", "AP90", "AR", "AR50", "AR75",
                            "AP_easy", "AP_medium", "AP_hard"}
    assert all(value == pytest.approx(1.0, abs=1e-12) for value in metrics.values()), metrics


def _single_pair(gt_writer, dataset, oks, *, joint=0, box=(100.0, 80.0, 100.0, 200.0), area=None):
    """One GT with only ``joint`` labelled and one detection placed at OKS ``oks`` with it."""
    joint_set = CROWDPOSE14 if dataset == "crowdpose" else COCO17
    joints = person(*box, joint_set.num_joints)
    joints[:, 2] = 0
    joints[joint, 2] = 2
    scale = 0.53 * box[2] * box[3] if dataset == "crowdpose" else area
    predicted = joints[:, :2].copy()
    predicted[joint, 0] += offset_for_oks(oks, joint_set.sigmas[joint], scale)
    gt = gt_writer(dataset, {7: 0.5}, [gt_annotation(7, joints, box, area=area)])
    return KeypointEvaluator(gt, dataset).evaluate([result(7, predicted, 0.8)])


@pytest.mark.parametrize("oks", [0.8 + 1e-6, 0.8 - 1e-6, 0.9 + 1e-6, 0.9 - 1e-6, 0.5 - 1e-6, 0.97])
def test_single_pair_with_known_oks_crowdpose_scale(gt_writer, oks):
    """CrowdPose's OKS scale is 0.53 * w * h of the GT box: the offset is computed with it."""
    metrics = _single_pair(gt_writer, "crowdpose", oks)
    assert metrics["AP"] == pytest.approx(expected_ap(oks), abs=1e-12)
    assert metrics["AR"] == pytest.approx(expected_ap(oks), abs=1e-12)
    assert metrics["AP80"] == pytest.approx(1.0 if oks >= 0.8 else 0.0, abs=1e-12)
    assert metrics["AP90"] == pytest.approx(1.0 if oks >= 0.9 else 0.0, abs=1e-12)
    assert metrics["AP50"] == pytest.approx(1.0 if oks >= 0.5 else 0.0, abs=1e-12)
    assert metrics["AP_medium"] == pytest.approx(expected_ap(oks), abs=1e-12)
    assert metrics["AP_easy"] == metrics["AP_hard"] == -1.0  # empty subsets


@pytest.mark.parametrize("oks", [0.75 + 1e-6, 0.75 - 1e-6])
def test_single_pair_with_known_oks_coco_stored_area(gt_writer, oks):
    """coco/ochuman use the stored ``area`` (here unlike w*h and 0.53*w*h) and COCO's sigmas."""
    metrics = _single_pair(gt_writer, "coco", oks, joint=9, area=5000.0)
    assert metrics["AP"] == pytest.approx(expected_ap(oks), abs=1e-12)
    assert metrics["AP75"] == pytest.approx(1.0 if oks >= 0.75 else 0.0, abs=1e-12)
    assert metrics["APl"] == -1.0 and metrics["APm"] == pytest.approx(expected_ap(oks), abs=1e-12)


def test_occluded_joints_count_and_joint_scores_do_not(gt_writer):
    """v=1 joints are labelled like v=2; a prediction's per-joint score plays no part in OKS."""
    joints = person(0, 0, 100, 200, 14)
    joints[::2, 2] = 1
    predicted = np.concatenate([joints[:, :2] + 1000.0, np.zeros((14, 1))], axis=1)
    predicted[:7, :2] = joints[:7, :2]  # 7 of 14 joints exact, the rest far away: OKS = 0.5
    gt = gt_writer("crowdpose", {1: 0.1}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    metrics = evaluate_keypoints(gt, [result(1, predicted, 0.5)], "crowdpose")
    assert metrics["AP50"] == pytest.approx(1.0, abs=1e-12) and metrics["AP"] == pytest.approx(0.1, abs=1e-12)


def test_opec12_ignores_head_and_neck(gt_writer):
    joints = person(0, 0, 100, 200, 14)
    predicted = joints[:, :2].copy()
    predicted[12:] += 1000.0  # head and neck far off: official OKS = 12/14 = 0.857
    gt = gt_writer("crowdpose", {1: 0.1}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    official = evaluate_keypoints(gt, [result(1, predicted, 0.5)], "crowdpose")
    opec12 = evaluate_keypoints(gt, [result(1, predicted, 0.5)], "crowdpose", protocol="opec12")
    twelve = evaluate_keypoints(gt, [result(1, predicted[:12], 0.5)], "crowdpose", protocol="opec12")
    assert official["AP"] == pytest.approx(0.8, abs=1e-12)  # thresholds 0.50 .. 0.85
    assert opec12["AP"] == pytest.approx(1.0, abs=1e-12)
    assert twelve == opec12  # 12-joint results (the refiner's) are accepted under opec12


def test_keypointless_and_crowd_gts_are_ignore_regions(gt_writer):
    good = person(0, 0, 100, 200, 14)
    empty = np.zeros((14, 3))
    crowd = person(300, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [
        gt_annotation(1, good, (0, 0, 100, 200)),
        gt_annotation(1, empty, (600, 0, 100, 100)),
        gt_annotation(1, crowd, (300, 0, 100, 200), iscrowd=1),
    ])
    inside_empty_box = person(620, 20, 50, 50, 14)[:, :2]
    results = [result(1, inside_empty_box, 0.99),                    # on the keypoint-less GT
               result(1, crowd[:, :2], 0.98), result(1, crowd[:, :2] + 1, 0.97),  # both absorbed by the crowd GT
               result(1, good[:, :2], 0.5)]
    metrics = evaluate_keypoints(gt, results, "crowdpose")
    assert metrics["AP"] == pytest.approx(1.0, abs=1e-12)
    # A detection far from everything is a false positive ranked first: precision 1/2 at recall 1.
    far = evaluate_keypoints(gt, [result(1, good[:, :2] + 5000, 0.99), result(1, good[:, :2], 0.5)], "crowdpose")
    assert far["AP"] == pytest.approx(0.5, abs=1e-12)


def test_num_keypoints_as_stored_decides_ignoring(gt_writer):
    """A GT with labelled joints but num_keypoints 0 is ignored (CrowdPose counts 12 body joints)."""
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200), num_keypoints=0)])
    metrics = evaluate_keypoints(gt, [result(1, joints[:, :2], 0.9)], "crowdpose")
    assert metrics["AP"] == -1.0  # no scorable GT at all


@pytest.mark.parametrize("rank, expected", [(19, 1 / 20), (20, 0.0)])
def test_twenty_detections_per_image(gt_writer, rank, expected):
    """Only the 20 highest-scoring detections of an image count."""
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    results = [result(1, joints[:, :2] + 3000 + k, 0.9 - 0.01 * k) for k in range(rank)]
    results.append(result(1, joints[:, :2], 0.01))
    metrics = evaluate_keypoints(gt, results, "crowdpose")
    assert metrics["AP"] == pytest.approx(expected, abs=1e-12)


def test_easy_medium_hard_split_and_boundaries(gt_writer):
    """easy < 0.2 <= medium < 0.8 <= hard; each subset is evaluated on its own images only."""
    box = (0, 0, 100, 200)
    joints = person(*box, 14)
    scale = 0.53 * box[2] * box[3]
    # OKS 0.82 on every joint: shift each joint by its own sigma-scaled offset.
    sigmas = np.array(CROWDPOSE14.sigmas)
    near = joints[:, :2].copy()
    near[:, 0] += [offset_for_oks(0.82, s, scale) for s in sigmas]
    gt = gt_writer("crowdpose", {1: 0.19, 2: 0.2, 3: 0.8}, [
        gt_annotation(1, joints, box), gt_annotation(2, joints, box), gt_annotation(3, joints, box)])
    metrics = evaluate_keypoints(gt, [result(1, joints[:, :2], 0.9), result(2, near, 0.8)], "crowdpose")
    assert metrics["AP_easy"] == pytest.approx(1.0, abs=1e-12)
    assert metrics["AP_medium"] == pytest.approx(0.7, abs=1e-12)
    assert metrics["AP_hard"] == 0.0  # a GT and no detection


def test_empty_results_give_zero(gt_writer):
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    metrics = evaluate_keypoints(gt, [], "crowdpose")
    assert metrics["AP_easy"] == metrics["AP_hard"] == -1.0
    assert all(v == 0.0 for k, v in metrics.items() if k not in ("AP_easy", "AP_hard")), metrics


def test_ocpose_is_crowdpose_format_with_optional_crowd_index(gt_writer):
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("ocpose", {1: None}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    metrics = evaluate_keypoints(gt, [result(1, joints[:, :2], 0.9)], "ocpose")
    assert "AP_easy" not in metrics and metrics["AP"] == pytest.approx(1.0, abs=1e-12)
    gt = gt_writer("ocpose", {1: 0.9}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    assert evaluate_keypoints(gt, [result(1, joints[:, :2], 0.9)], "ocpose")["AP_hard"] == pytest.approx(1.0)


def test_score_ties_keep_results_file_order(gt_writer):
    """Equal scores: the earlier result is matched first (stable sort), so a duplicate listed
    before the good detection takes the GT at loose thresholds and leaves it a false positive."""
    joints = person(0, 0, 100, 200, 14)
    sigmas = np.array(CROWDPOSE14.sigmas)
    rough = joints[:, :2].copy()
    rough[:, 0] += [offset_for_oks(0.62, s, 0.53 * 100 * 200) for s in sigmas]
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    good_first = evaluate_keypoints(gt, [result(1, joints[:, :2], 0.7), result(1, rough, 0.7)], "crowdpose")
    rough_first = evaluate_keypoints(gt, [result(1, rough, 0.7), result(1, joints[:, :2], 0.7)], "crowdpose")
    assert good_first["AP"] == pytest.approx(1.0, abs=1e-12)
    # OKS 0.62. Thresholds 0.50..0.60: rough is TP, good FP (AP 1); 0.65..0.95: rough FP, good TP (AP 0.5).
    assert rough_first["AP"] == pytest.approx((3 * 1.0 + 7 * 0.5) / 10, abs=1e-12)


def test_numpy_valued_results_are_accepted(gt_writer):
    """Results built from arrays ((J, 3) keypoints, numpy scalars, array bbox) equal plain lists."""
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    plain = [result(1, joints[:, :2] + 6.0, 0.9), result(1, joints[:, :2], 0.4)]
    arrays = [{"image_id": np.int64(1), "category_id": 1, "score": np.float32(r["score"]),
               "keypoints": np.asarray(r["keypoints"]).reshape(14, 3), "bbox": np.array([0.0, 0.0, 1.0, 1.0])}
              for r in plain]
    evaluator = KeypointEvaluator(gt, "crowdpose")
    assert evaluator.evaluate(arrays) == pytest.approx(evaluator.evaluate(plain), abs=1e-12)
    assert 0.0 < evaluator.evaluate(plain)["AP"] < 1.0


def test_string_image_ids_resolve_through_file_names_first(tmp_path):
    """OCHuman-style GT: file "003799.jpg" is image 1. A string id is looked up as a file name
    first, then read as upstream's "<id>.jpg"."""
    joints = person(0, 0, 100, 200, 17)
    gt = tmp_path / "gt.json"
    gt.write_text(json.dumps({
        "images": [{"id": 1, "file_name": "003799.jpg"}, {"id": 2, "file_name": "000002.jpg"}],
        "annotations": [dict(gt_annotation(1, joints, (0, 0, 100, 200), area=20000.0), id=1)],
        "categories": [{"id": 1, "name": "person"}]}))
    evaluator = KeypointEvaluator(gt, "ochuman")
    assert evaluator.evaluate([result("003799.jpg", joints[:, :2], 0.9)])["AP"] == pytest.approx(1.0)
    assert evaluator.evaluate([result("1.jpg", joints[:, :2], 0.9)])["AP"] == pytest.approx(1.0)
    assert evaluator.evaluate([result("000002.jpg", joints[:, :2], 0.9)])["AP"] == 0.0  # image 2: a miss
