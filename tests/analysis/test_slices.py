"""Occlusion slices: overlap counts from hand-placed boxes, crowd levels, visibility flags."""
from __future__ import annotations

import numpy as np
from tests.analysis.analysis_builders import box, person, write_gt

from opec.analysis import Truth
from opec.analysis.slices import crowd_levels, overlap_counts, overlap_levels, visibility_levels


def test_overlap_counts_and_levels(tmp_path):
    # Boxes 120 x 300. IoU of boxes shifted by dx: (120 - dx) / (120 + dx).
    # dx = 100: 20/220 = 0.09 (not > 0.1); dx = 90: 30/210 = 0.14 (> 0.1).
    xs = [0, 90, 180, 270, 1000]
    persons = [(1, person(x), box(x)) for x in xs] + [(2, person(0), box(0)), (2, person(100), box(100))]
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.1, 2: 0.9}, persons,
                                crowd=[(1, [1000.0, 0.0, 120.0, 300.0])]), "crowdpose")
    counts = overlap_counts(truth)[:7]  # the 8th annotation is the crowd region itself
    # 0 overlaps 90 (and not 180: dx 180); the crowd region over 1000 does not count; image 2's
    # pair at dx 100 does not either.
    assert counts.tolist() == [1, 2, 2, 1, 0, 0, 0]
    levels = overlap_levels(truth)
    assert levels["0"][:7].tolist() == [False, False, False, False, True, True, True]
    assert levels["1-2"][:4].all() and not levels[">=3"].any()


def test_three_overlaps(tmp_path):
    persons = [(1, person(x), box(x)) for x in (0, 10, 20, 30)]
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.1}, persons), "crowdpose")
    assert overlap_levels(truth)[">=3"].all()


def test_crowd_levels_follow_the_crowdpose_split(tmp_path):
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.0, 2: 0.19, 3: 0.2, 4: 0.79, 5: 0.8},
                                [(1, person(0), box(0))]), "crowdpose")
    levels = crowd_levels(truth)
    assert {k: v.tolist() for k, v in levels.items()} == {"easy": [1, 2], "medium": [3, 4], "hard": [5]}


def test_visibility_levels_only_with_two_flags(tmp_path):
    joints = person(0)
    truth = Truth.read(write_gt(tmp_path / "gt.json", {1: 0.1}, [(1, joints, box(0))]), "crowdpose")
    assert visibility_levels(truth) == {}
    joints[:3, 2] = 1
    truth = Truth.read(write_gt(tmp_path / "gt2.json", {1: 0.1}, [(1, joints, box(0))]), "crowdpose")
    levels = visibility_levels(truth)
    assert list(levels) == ["v=1 (occluded)", "v=2 (visible)"]
    assert np.count_nonzero(levels["v=1 (occluded)"]) == 3
