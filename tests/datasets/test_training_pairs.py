"""The detection-to-GT matching rule: OKS by hand and the greedy one-to-one assignment."""
import math

import numpy as np

from opec.datasets.training_pairs import MatchingRule, gt_oks_scale, match_greedy, oks_matrix
from opec.keypoints import OPEC12


def test_oks_matches_hand_computation():
    gt = np.zeros((1, 12, 3))
    gt[0, :, 2] = 0
    gt[0, 0] = (10.0, 20.0, 2)           # left shoulder, sigma .079
    gt[0, 4] = (50.0, 60.0, 1)           # left wrist, sigma .062
    det = np.zeros((1, 12, 2))
    det[0, 0] = (13.0, 24.0)             # 5 px away
    det[0, 4] = (50.0, 60.0)             # exact
    det[0, 7] = (999.0, 999.0)           # unlabelled in GT: ignored
    scale = 400.0
    expected = (math.exp(-25.0 / (2 * scale * (2 * 0.079) ** 2)) + 1.0) / 2
    assert np.isclose(oks_matrix(det, gt, np.array([scale]))[0, 0], expected)


def test_oks_is_zero_for_gt_without_labelled_joints():
    gt = np.zeros((1, 12, 3))
    assert oks_matrix(np.zeros((2, 12, 2)), gt, np.array([100.0])).tolist() == [[0.0], [0.0]]


def test_scale_uses_stored_area_else_crowdpose_fraction():
    scales = gt_oks_scale([{"area": 1234.0, "bbox": [0, 0, 10, 10]}, {"bbox": [0, 0, 10, 20]}])
    assert np.allclose(scales, [1234.0, 0.53 * 200])


def _pose(offset):
    return np.stack([np.arange(12) * 5.0 + offset, np.arange(12) * 3.0 + offset], -1)


def test_greedy_by_score_one_to_one():
    gts = np.concatenate([np.stack([_pose(0), _pose(100)]), np.full((2, 12, 1), 2.0)], -1)
    # det 0 (low score) sits exactly on GT 0; det 1 (high score) is 2 px off GT 0;
    # det 2 is near GT 1 but below the OKS threshold; det 3 is far from everything.
    dets = np.stack([_pose(0), _pose(2), _pose(130), _pose(500)])
    scores = np.array([0.5, 0.9, 0.8, 0.99])
    oks = oks_matrix(dets, gts, np.array([2000.0, 2000.0]))
    pairs = match_greedy(oks, scores, np.array([True, True]), MatchingRule(oks_threshold=0.5))
    assert [(d, g) for d, g, _ in pairs] == [(1, 0)]   # det 1 takes GT 0 first; det 0 finds it taken
    assert oks[2, 1] < 0.5 and oks[0, 0] == 1.0


def test_invalid_gt_and_low_scores_are_not_matched():
    gts = np.concatenate([np.stack([_pose(0), _pose(100)]), np.full((2, 12, 1), 2.0)], -1)
    dets = np.stack([_pose(0), _pose(100)])
    oks = oks_matrix(dets, gts, np.array([2000.0, 2000.0]))
    pairs = match_greedy(oks, np.array([0.9, 0.1]), np.array([False, True]),
                         MatchingRule(oks_threshold=0.5, min_score=0.2))
    assert pairs == []
    pairs = match_greedy(oks, np.array([0.9, 0.3]), np.array([True, True]),
                         MatchingRule(oks_threshold=0.5, min_score=0.2))
    assert [(d, g) for d, g, _ in pairs] == [(0, 0), (1, 1)]


def test_sigmas_are_the_opec12_body_sigmas():
    # A single 1-joint GT at each joint index: the OKS of a fixed offset follows that joint's sigma.
    for j, sigma in enumerate(OPEC12.sigmas):
        gt = np.zeros((1, 12, 3))
        gt[0, j] = (0, 0, 2)
        det = np.zeros((1, 12, 2))
        det[0, j] = (3.0, 4.0)
        assert np.isclose(oks_matrix(det, gt, np.array([100.0]))[0, 0],
                          math.exp(-25 / (2 * 100 * (2 * sigma) ** 2)))
