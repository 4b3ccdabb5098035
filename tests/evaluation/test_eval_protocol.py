"""OPEC protocol pieces on small hand-made cases whose answer is stated in the test."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from opec.evaluation.protocol import (
    box_iou_xyxy,
    replace_low_confidence,
    transplant_best_match,
)


def test_replace_low_confidence_only_below_threshold():
    initial = np.array([[[10.0, 20.0, 0.1], [11.0, 21.0, 0.2], [12.0, 22.0, 0.9], [13.0, 23.0, 0.19999]]])
    refined = np.array([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]])
    before = initial.copy()
    out = replace_low_confidence(initial, refined)
    expected = np.array([[[1.0, 2.0, 0.1], [11.0, 21.0, 0.2], [12.0, 22.0, 0.9], [7.0, 8.0, 0.19999]]])
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(initial, before)  # a new array; input untouched
    assert out is not initial
    np.testing.assert_array_equal(replace_low_confidence(initial, refined, threshold=0.5)[0, :2, :2],
                                  [[1.0, 2.0], [3.0, 4.0]])


def test_replace_low_confidence_shape_mismatch():
    with pytest.raises(ValueError, match="refined_xy"):
        replace_low_confidence(np.zeros((2, 12, 3)), np.zeros((2, 14, 2)))


def test_box_iou_hand_values():
    a = np.array([[0, 0, 2, 2], [0, 0, 10, 10]], dtype=float)
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [2, 0, 4, 2], [5, 5, 5, 5]], dtype=float)
    iou = box_iou_xyxy(a, b)
    np.testing.assert_allclose(iou[0], [1 / 7, 1.0, 0.0, 0.0])  # touching edges: 0; no +1 convention
    np.testing.assert_allclose(iou[1], [4 / 100, 4 / 100, 4 / 100, 0.0])
    assert iou.shape == (2, 4)
    assert box_iou_xyxy(np.zeros((0, 4)), b).shape == (0, 4)


def _entry(image_id, bbox, value, score=0.5):
    return {"image_id": image_id, "category_id": 1, "bbox": bbox, "keypoints": [value] * 36, "score": score}


def test_transplant_iou_must_exceed_threshold():
    best = [_entry("5.jpg", [0, 0, 10, 10], 0.0)]
    at = [_entry("5.jpg", [0, 0, 10, 9], 1.0)]        # IoU 90 / 100 = 0.9 exactly: not > 0.9
    above = [_entry("5.jpg", [0, 0, 10, 9.5], 2.0)]   # IoU 0.95
    assert box_iou_xyxy([[0, 0, 10, 9]], [[0, 0, 10, 10]])[0, 0] == 0.9
    assert transplant_best_match(at, best)[0]["keypoints"] == [0.0] * 36
    assert transplant_best_match(above, best)[0]["keypoints"] == [2.0] * 36


def test_transplant_argmax_other_entries_and_images():
    best = [_entry(1, [0, 0, 10, 10], 0.0), _entry(1, [1, 0, 11, 10], 0.0), _entry(1, [50, 50, 60, 60], 0.0),
            _entry(3, [0, 0, 10, 10], 0.0)]
    refined = [_entry(1, [1, 0, 11, 10.2], 7.0),      # best IoU with entry 1 (not entry 0)
               _entry("2.jpg", [0, 0, 10, 10], 8.0),  # image 2 has no best-match entry
               _entry("3.jpg", [0, 0, 10, 10], 0.0)]  # "3.jpg" is image 3
    refined[2]["keypoints"] = np.arange(36.0).reshape(12, 3)  # (J, 3) arrays are accepted too
    before_best, before_refined = copy.deepcopy(best), copy.deepcopy(refined)
    out = transplant_best_match(refined, best)
    assert [e["keypoints"][0] for e in out] == [0.0, 7.0, 0.0, 0.0]
    assert out[3]["keypoints"] == list(np.arange(36.0))
    assert [e["bbox"] for e in out] == [e["bbox"] for e in best] and len(out) == len(best)
    assert best == before_best and all(np.array_equal(a["keypoints"], b["keypoints"])
                                       for a, b in zip(refined, before_refined))
    assert out[1] is not best[1]


def test_transplant_later_refined_person_wins_and_empty_inputs():
    best = [_entry(1, [0, 0, 10, 10], 0.0)]
    refined = [_entry(1, [0, 0, 10, 9.8], 1.0), _entry(1, [0, 0, 10, 9.9], 2.0)]
    assert transplant_best_match(refined, best)[0]["keypoints"] == [2.0] * 36
    assert transplant_best_match([], best) == best
    assert transplant_best_match(refined, []) == []
