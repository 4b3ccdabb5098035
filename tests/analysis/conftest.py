"""Fixtures of the analysis tests."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from tests.analysis.analysis_builders import box, joint, person, result, write_gt, write_results


@pytest.fixture
def files(tmp_path):
    """(gt, before, after, image folder) of a small before/after pair: person 0's left wrist is
    inverted before (score 0.1: a replaced joint) and right after; the others are unchanged."""
    persons = [(1, person(0), box(0)), (1, person(400), box(400)), (2, person(100), box(100))]
    gt = write_gt(tmp_path / "gt.json", {1: 0.5, 2: 0.1}, persons)
    broken = person(0)
    broken[joint("left_wrist"), :2] = broken[joint("right_wrist"), :2]
    scores = np.full(14, 0.9)
    scores[joint("left_wrist")] = 0.1
    before = write_results(tmp_path / "before.json", [result(1, broken, 0.9, scores), result(1, person(400), 0.8),
                                                      result(2, person(100) + [0, 8, 0], 0.7)])
    after = write_results(tmp_path / "after.json", [result(1, person(0), 0.9, scores), result(1, person(400), 0.8),
                                                    result(2, person(100) + [0, 8, 0], 0.7)])
    images = tmp_path / "images"
    images.mkdir()
    for i in (1, 2):
        cv2.imwrite(str(images / f"{i}.jpg"), np.full((400, 1000, 3), 90, np.uint8))
    return gt, before, after, images
