"""Bad input: each case a one-line EvaluationError naming the file and the field."""
from __future__ import annotations

import json
import math

import pytest
from tests.evaluation.eval_builders import gt_annotation, person, result

from opec.evaluation import EvaluationError, KeypointEvaluator


@pytest.fixture
def crowdpose_gt(gt_writer):
    joints = person(0, 0, 100, 200, 14)
    return gt_writer("crowdpose", {1: 0.1, 2: 0.9}, [gt_annotation(1, joints, (0, 0, 100, 200)),
                                                     gt_annotation(2, joints, (0, 0, 100, 200))])


@pytest.fixture
def good_results():
    joints = person(0, 0, 100, 200, 14)
    return [result(1, joints[:, :2], 0.9), result(2, joints[:, :2], 0.8)]


def raises(match_all: list[str], function, *args, **kwargs) -> str:
    with pytest.raises(EvaluationError) as info:
        function(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, message
    for part in match_all:
        assert part in message, f"{part!r} not in {message!r}"
    return message


def test_missing_gt_file(tmp_path):
    path = tmp_path / "nope.json"
    raises([str(path), "file not found"], KeypointEvaluator, path, "crowdpose")


def test_missing_results_file(crowdpose_gt, tmp_path):
    path = tmp_path / "missing_results.json"
    raises([str(path), "file not found"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, path)


def test_invalid_json(crowdpose_gt, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"image_id": 1,')
    raises([str(broken), "invalid JSON", "line 1"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, broken)
    raises([str(broken), "invalid JSON"], KeypointEvaluator, broken, "crowdpose")


def test_results_for_unknown_image(crowdpose_gt, good_results, tmp_path):
    good_results[1]["image_id"] = 424242
    path = tmp_path / "res.json"
    path.write_text(json.dumps(good_results))
    raises([str(path), "[1].image_id", "424242", str(crowdpose_gt)],
           KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, path)
    good_results[1]["image_id"] = "424242.jpg"
    raises(["[1].image_id", "424242.jpg"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, good_results)


def test_wrong_number_of_keypoint_values(crowdpose_gt, good_results):
    good_results[1]["keypoints"] = good_results[1]["keypoints"][:-1]
    raises(["results", "[1].keypoints", "expected 42 numbers", "41"],
           KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, good_results)
    # 17 COCO joints are not CrowdPose results; 12 joints are only accepted under opec12.
    good_results[1]["keypoints"] = [1.0] * 36
    raises(["[1].keypoints", "36"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, good_results)


def test_wrong_number_of_gt_keypoint_values(gt_writer):
    gt = gt_writer("coco", {1: None}, [gt_annotation(1, person(0, 0, 10, 10, 14), (0, 0, 10, 10), area=50)])
    raises([str(gt), "annotations[0].keypoints", "expected 51 numbers"], KeypointEvaluator, gt, "coco")


@pytest.mark.parametrize("where, field", [("x", "[0].keypoints[3]"), ("score", "[0].score"),
                                          ("joint_score", "[0].keypoints[5]")])
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values(crowdpose_gt, good_results, tmp_path, where, field, bad):
    if where == "score":
        good_results[0]["score"] = bad
    else:
        good_results[0]["keypoints"][3 if where == "x" else 5] = bad
    path = tmp_path / "res.json"
    path.write_text(json.dumps(good_results))  # writes the NaN / Infinity tokens Python's json reads back
    raises([str(path), field, "finite"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, path)


def test_non_numeric_values(crowdpose_gt, good_results):
    good_results[1]["keypoints"][4] = "7"
    raises(["[1].keypoints[4]", "expected a number"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate,
           good_results)


def test_results_not_a_list(crowdpose_gt, tmp_path):
    path = tmp_path / "res.json"
    path.write_text(json.dumps({"annotations": []}))
    raises([str(path), "expected a list"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, path)


def test_missing_result_field(crowdpose_gt, good_results):
    del good_results[0]["score"]
    raises(["[0].score", "missing"], KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate, good_results)


def test_empty_results_are_not_an_error(crowdpose_gt, tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("[]")
    metrics = KeypointEvaluator(crowdpose_gt, "crowdpose").evaluate(path)
    assert metrics["AP"] == 0.0 and metrics["AR"] == 0.0


def test_crowdpose_gt_without_crowd_index(gt_writer, good_results):
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: None, 2: None}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    raises([str(gt), "images[0].crowdIndex", "--no-easy-medium-hard"], KeypointEvaluator, gt, "crowdpose")
    metrics = KeypointEvaluator(gt, "crowdpose", easy_medium_hard=False).evaluate(good_results)
    assert not {"AP_easy", "AP_medium", "AP_hard"} & set(metrics)
    assert metrics["AP"] == pytest.approx(1.0, abs=1e-12)


def test_coco_gt_without_area(gt_writer):
    gt = gt_writer("coco", {1: None}, [gt_annotation(1, person(0, 0, 10, 10, 17), (0, 0, 10, 10))])
    raises([str(gt), "annotations[0].area", "missing"], KeypointEvaluator, gt, "coco")


def test_unknown_dataset_or_protocol(crowdpose_gt):
    with pytest.raises(ValueError, match="unknown dataset"):
        KeypointEvaluator(crowdpose_gt, "mpii")
    with pytest.raises(ValueError, match="unknown protocol"):
        KeypointEvaluator(crowdpose_gt, "crowdpose", protocol="opec14")
