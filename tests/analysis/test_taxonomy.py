"""Keypoint error taxonomy on scenes whose answer is known by construction."""
from __future__ import annotations

import numpy as np
import pytest
from tests.analysis.analysis_builders import distance_for_ks, joint, person, box, result, write_gt

from opec.analysis import CATEGORIES, Scene, Truth, classify
from opec.analysis.taxonomy import category_counts

OTHER_X = 400.0  # the second person's box starts here: no overlap with the first


@pytest.fixture
def truth(tmp_path):
    path = write_gt(tmp_path / "gt.json", {1: 0.5}, [(1, person(0), box(0)), (1, person(OTHER_X), box(OTHER_X))])
    return Truth.read(path, "crowdpose")


def categories_of(truth, first_joints, second_joints=None):
    """Categories (D, 14) of a detection on person 1 (and one on person 2)."""
    results = [result(1, first_joints, 0.9)]
    if second_joints is not None:
        results.append(result(1, second_joints, 0.8))
    taxonomy = classify(Scene.read(truth, results))
    return taxonomy


def test_results_equal_to_gt_are_all_good(truth):
    taxonomy = categories_of(truth, person(0), person(OTHER_X))
    assert (taxonomy.category == CATEGORIES.index("good")).all()
    assert taxonomy.dt_gt.tolist() == [0, 1]
    counts = category_counts(taxonomy.category)
    assert counts[:, 0].tolist() == [2] * 14 and counts[:, 1:].sum() == 0


def test_mirrored_wrist_is_an_inversion(truth):
    joints = person(0)
    joints[joint("left_wrist"), :2] = joints[joint("right_wrist"), :2]
    category = categories_of(truth, joints).category[0]
    assert CATEGORIES[category[joint("left_wrist")]] == "inversion"
    others = np.delete(category, joint("left_wrist"))
    assert (others == CATEGORIES.index("good")).all()


def test_joint_on_another_persons_joint_is_a_swap(truth):
    joints = person(0)
    joints[joint("left_knee"), :2] = person(OTHER_X)[joint("left_knee"), :2]
    category = categories_of(truth, joints).category[0]
    assert CATEGORIES[category[joint("left_knee")]] == "swap"


def test_joint_on_another_persons_mirrored_joint_is_a_swap(truth):
    joints = person(0)
    joints[joint("left_ankle"), :2] = person(OTHER_X)[joint("right_ankle"), :2]
    assert CATEGORIES[categories_of(truth, joints).category[0][joint("left_ankle")]] == "swap"


def test_joint_far_from_everything_is_a_miss(truth):
    joints = person(0)
    joints[joint("head"), :2] = [250.0, 380.0]
    assert CATEGORIES[categories_of(truth, joints).category[0][joint("head")]] == "miss"


@pytest.mark.parametrize("ks, expected", [(0.9, "good"), (0.7, "jitter"), (0.55, "jitter"), (0.3, "miss")])
def test_small_noise_is_jitter(truth, ks, expected):
    joints = person(0)
    k = joint("right_elbow")
    joints[k, 1] += distance_for_ks(ks, "right_elbow")  # straight down: away from every other joint
    taxonomy = categories_of(truth, joints)
    assert taxonomy.ks[0, k] == pytest.approx(ks)
    assert CATEGORIES[taxonomy.category[0][k]] == expected


def test_unlabelled_gt_joints_are_not_counted(tmp_path):
    joints = person(0)
    joints[joint("left_wrist"), 2] = 0
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.1}, [(1, joints, box(0))]), "crowdpose")
    taxonomy = classify(Scene.read(truth, [result(1, person(0), 0.9)]))
    assert taxonomy.category[0, joint("left_wrist")] == -1
    assert category_counts(taxonomy.category).sum() == 13


def test_detections_of_crowd_regions_and_unmatched_ones_are_not_classified(tmp_path):
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.1}, [(1, person(0), box(0))],
                                crowd=[(1, [500.0, 0.0, 300.0, 300.0])]), "crowdpose")
    results = [result(1, person(0), 0.9), result(1, person(550), 0.8), result(1, person(0) + [0, 2000, 0], 0.7)]
    taxonomy = classify(Scene.read(truth, results))
    assert taxonomy.dt_gt.tolist() == [0, -1, -1]
    assert (taxonomy.category[1:] == -1).all()


def test_opec12_protocol_classifies_the_12_body_joints(tmp_path):
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.1}, [(1, person(0), box(0))]), "crowdpose", "opec12")
    joints = person(0)[:12]
    joints[0, :2] = joints[1, :2]  # left shoulder on the right shoulder
    taxonomy = classify(Scene.read(truth, [result(1, joints, 0.9)]))
    assert taxonomy.category.shape == (1, 12)
    assert CATEGORIES[taxonomy.category[0, 0]] == "inversion"
