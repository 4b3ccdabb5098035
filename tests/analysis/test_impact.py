"""AP impact of fixing each error type, on scenes whose AP is known by hand."""
from __future__ import annotations

import pytest
from tests.analysis.analysis_builders import box, distance_for_ks, joint, person, result, write_gt

from opec.analysis import Scene, Truth, classify
from opec.analysis.impact import STEPS, Slices, ap_impact, optimal_scores, State
from opec.analysis.slices import crowd_levels, overlap_levels

OTHER_X = 400.0


def impact(tmp_path, results, persons=None):
    persons = persons or [(1, person(0), box(0)), (1, person(OTHER_X), box(OTHER_X))]
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.5}, persons), "crowdpose")
    scene = Scene.read(truth, results)
    return ap_impact(scene, classify(scene), Slices(crowd_levels(truth), overlap_levels(truth)))


def test_results_equal_to_gt_give_ap_1_in_every_column(tmp_path):
    out = impact(tmp_path, [result(1, person(0), 0.9), result(1, person(OTHER_X), 0.8)])
    for step in STEPS:
        assert out[step]["all"] == {"AP": 1.0, "AP50": 1.0, "AP75": 1.0}
        assert out[step]["medium"]["AP"] == 1.0


def test_four_missed_joints(tmp_path):
    """Detection B misses 4 of 14 joints: OKS = 10/14 + 4 exp(-huge)/14 ~ 0.714, a TP at the
    thresholds 0.50..0.70 and a FP at 0.75..0.95 (recall 1/2 at precision 1 there: 51 of the 101
    recall points). Fixing the misses gives AP 1; the other fixes change nothing before."""
    joints = person(OTHER_X)
    for name in ("left_wrist", "right_wrist", "left_ankle", "head"):
        joints[joint(name), 1] += 1000.0
    out = impact(tmp_path, [result(1, person(0), 0.9), result(1, joints, 0.8)])
    expected = (5 * 1.0 + 5 * 51 / 101) / 10
    assert out["original"]["all"]["AP"] == pytest.approx(expected, abs=1e-15)
    assert out["original"]["all"]["AP50"] == 1.0 and out["original"]["all"]["AP75"] == pytest.approx(51 / 101)
    assert all(out[step]["all"]["AP"] == 1.0 for step in STEPS[1:])


def test_jitter_fix(tmp_path):
    """Every joint of B at ks 0.62: OKS 0.62, TP at 0.50..0.60 (3 thresholds). Only the jitter fix helps."""
    joints = person(OTHER_X)
    for name in ("left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                 "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "head", "neck"):
        joints[joint(name), 1] += distance_for_ks(0.62, name)
    out = impact(tmp_path, [result(1, person(0), 0.9), result(1, joints, 0.8)])
    assert out["original"]["all"]["AP"] == pytest.approx((3 + 7 * 51 / 101) / 10)
    for step in ("miss", "swap", "inversion"):
        assert out[step]["all"]["AP"] == out["original"]["all"]["AP"]
    assert out["jitter"]["all"]["AP"] == 1.0


def test_rescoring_puts_the_better_detection_first(tmp_path):
    """One GT; a poor detection (OKS ~0.71) scored above a perfect one. Optimal scores rank the
    perfect one first and give the poor one 0 (a duplicate)."""
    poor = person(0)
    for name in ("left_wrist", "right_wrist", "left_ankle", "head"):
        poor[joint(name), 1] += 1000.0
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.5}, [(1, person(0), box(0))]), "crowdpose")
    scene = Scene.read(truth, [result(1, poor, 0.9), result(1, person(0), 0.5)])
    scores = optimal_scores(scene, State.of(scene))
    assert scores.tolist() == [0.0, 1.0]


def test_background_fp_and_false_negative_steps(tmp_path):
    """A background detection scored first costs precision; a GT nobody detected costs recall."""
    far = person(0)
    far[:, 1] += 5000.0
    persons = [(1, person(0), box(0)), (1, person(OTHER_X), box(OTHER_X))]
    out = impact(tmp_path, [result(1, far, 0.95), result(1, person(0), 0.9)], persons)
    # original: FP then TP; recall 1/2 reached at precision 1/2: 51 points of 0.5
    assert out["original"]["all"]["AP"] == pytest.approx(51 * 0.5 / 101)
    # the rescore step gives the background detection score 0: TP first, recall 1/2 at precision 1
    assert out["rescore"]["all"]["AP"] == pytest.approx(51 / 101)
    assert out["background_fp"]["all"]["AP"] == pytest.approx(51 / 101)
    # one TP left: precision TP / (TP + FP + eps) = 1 / (1 + eps), the evaluators' formula
    assert out["false_negatives"]["all"]["AP"] == pytest.approx(1.0, abs=1e-15)


def test_fixed_columns_never_below_the_original(tmp_path):
    import numpy as np
    rng = np.random.default_rng(3)
    persons, results = [], []
    for i in range(4):
        x = 150.0 * i
        persons.append((1, person(x), box(x)))
        joints = person(x)[:, :2] + rng.normal(0, 12, (14, 2))
        joints[rng.integers(0, 14), :2] = person(150.0 * ((i + 1) % 4))[rng.integers(0, 14), :2]
        results.append(result(1, joints, float(rng.random())))
    results.append(result(1, person(700)[:, :2], 0.99))
    out = impact(tmp_path, results, persons)
    for step in STEPS[1:]:
        for name, metrics in out[step].items():
            for key, value in metrics.items():
                assert value >= out["original"][name][key] - 1e-12, (step, name, key)
