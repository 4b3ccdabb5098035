"""Before / after transitions and replaced-joint rates on a pair whose answer is known."""
from __future__ import annotations

import numpy as np
import pytest
from tests.analysis.analysis_builders import box, joint, person, result, write_gt

from opec.analysis import ReplacedJointRates, Scene, Truth, classify
from opec.analysis.transitions import STATES, joint_states, person_oks, replaced_joints, transition_matrix

OTHER_X = 400.0
LOW = 0.1  # an occluded joint's score: below OPEC-Net's 0.2


def state(name: str) -> int:
    return STATES.index(name)


@pytest.fixture
def pair(tmp_path):
    """Before: person 1's left wrist inverted and left knee missed (both scored 0.1), person 2
    perfect, person 3 undetected. After: the wrist and knee fixed, person 2's right ankle
    swapped onto person 1's, person 3 found."""
    persons = [(1, person(0), box(0)), (1, person(OTHER_X), box(OTHER_X)), (1, person(800), box(800))]
    gt = write_gt(tmp_path / "gt.json", {1: 0.5}, persons)
    first = person(0)
    first[joint("left_wrist"), :2] = first[joint("right_wrist"), :2]
    first[joint("left_knee"), :2] = [250.0, 390.0]
    scores = np.full(14, 0.9)
    scores[[joint("left_wrist"), joint("left_knee")]] = LOW
    before = [result(1, first, 0.9, scores), result(1, person(OTHER_X), 0.8)]
    second = person(OTHER_X)
    second[joint("right_ankle"), :2] = person(0)[joint("right_ankle"), :2]
    after = [result(1, person(0), 0.9, scores), result(1, second, 0.8), result(1, person(800), 0.7)]
    return gt, before, after


def test_transition_matrix_of_a_known_pair(pair):
    gt, before, after = pair
    truth = Truth.read(gt, "crowdpose")
    scene_b, scene_a = Scene.read(truth, before), Scene.read(truth, after)
    tax_b, tax_a = classify(scene_b), classify(scene_a)
    states_b, states_a = joint_states(scene_b, tax_b), joint_states(scene_a, tax_a)
    replaced = replaced_joints(scene_b, tax_b)
    assert np.argwhere(replaced).tolist() == [[0, joint("left_wrist")], [0, joint("left_knee")]]

    moved = transition_matrix(states_b, states_a, replaced)
    assert moved.sum() == 2
    assert moved[joint("left_wrist"), state("inversion"), state("good")] == 1
    assert moved[joint("left_knee"), state("miss"), state("good")] == 1

    kept = transition_matrix(states_b, states_a, ~replaced)
    total = kept.sum(axis=0)
    assert total[state("good"), state("swap")] == 1                # person 2's right ankle
    assert kept[joint("right_ankle"), state("good"), state("swap")] == 1
    assert total[state("undetected"), state("good")] == 14          # person 3 found
    assert total[state("good"), state("good")] == 12 + 13
    assert total.sum() == 3 * 14 - 2


def test_person_oks_change(pair):
    gt, before, after = pair
    truth = Truth.read(gt, "crowdpose")
    scenes = [Scene.read(truth, r) for r in (before, after)]
    oks_b, oks_a = (person_oks(s, classify(s)) for s in scenes)
    assert oks_b[1] == pytest.approx(1.0) and oks_b[2] == 0.0       # person 3 undetected before
    assert oks_a[0] == pytest.approx(1.0) and oks_a[2] == pytest.approx(1.0)
    assert oks_a[1] < 1.0 and oks_b[0] < 1.0


def test_replaced_joint_rates(pair):
    gt, before, after = pair
    monitor = ReplacedJointRates(gt, "crowdpose", before, protocol="official")
    rates = monitor.rates(after)
    assert rates["before/inversion"] == 0.5 and rates["before/miss"] == 0.5
    assert rates["after/good"] == 1.0
    assert set(rates) == {f"{when}/{s}" for when in ("before", "after") for s in STATES}
