"""AlphaPose detector post-processing on hand-made boxes: +1 IoU, >= suppression, greedy order,
person-argmax filter, the >100 rerun (coupled over a batch), mapping back to image pixels."""
import numpy as np
import pytest
import torch

from opec.detection import box_iou_plus1, dynamic_write_results, greedy_nms, map_to_image, select_persons, write_results


def boxes(*rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_iou_plus_one_hand_computed():
    a = boxes((0, 0, 9, 9))
    b = boxes((0, 0, 9, 4), (10, 0, 19, 9), (9, 9, 20, 20))
    # areas 100 and 50, intersection 50; touching at x=10 -> no overlap; one shared pixel (9, 9)
    torch.testing.assert_close(box_iou_plus1(a, b), torch.tensor([[0.5, 0.0, 1 / (100 + 144 - 1)]]))


def test_suppression_at_exactly_the_threshold_uses_plus_one():
    # +1 convention: inter 7.5*10 = 75, union 100 + 100 - 75 = 125 -> IoU 0.6 exactly (suppressed, >=);
    # without +1 it would be 58.5 / 103.5 = 0.565 (kept), and with '>' it would be kept too
    b = boxes((0, 0, 9, 9), (2.5, 0, 11.5, 9))
    assert box_iou_plus1(b[:1], b[1:]).item() == pytest.approx(0.6, abs=1e-7)
    assert greedy_nms(b, 0.6).tolist() == [True, False]
    assert greedy_nms(b, 0.6 + 1e-6).tolist() == [True, True]


def test_greedy_chain_and_order():
    # A suppresses B; B would suppress C but is gone, and A-C overlap is low -> A and C kept
    b = boxes((0, 0, 9, 9), (2, 0, 11, 9), (4, 0, 13, 9), (100, 100, 110, 110))
    iou = box_iou_plus1(b, b)
    assert iou[0, 1] >= 0.6 and iou[1, 2] >= 0.6 and iou[0, 2] < 0.6
    assert greedy_nms(b, 0.6).tolist() == [True, False, True, True]


def test_groups_do_not_suppress_each_other():
    b = boxes((0, 0, 9, 9), (0, 0, 9, 9), (0, 0, 9, 9))
    assert greedy_nms(b, 0.6, torch.tensor([0, 1, 1])).tolist() == [True, True, False]


def reference_greedy(b: np.ndarray, threshold: float) -> np.ndarray:
    """Plain sequential greedy NMS in float64 (independent of the implementation under test)."""
    keep = np.ones(len(b), bool)
    area = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    for i in range(len(b)):
        if not keep[i]:
            continue
        w = np.clip(np.minimum(b[i, 2], b[i + 1:, 2]) - np.maximum(b[i, 0], b[i + 1:, 0]) + 1, 0, None)
        h = np.clip(np.minimum(b[i, 3], b[i + 1:, 3]) - np.maximum(b[i, 1], b[i + 1:, 1]) + 1, 0, None)
        inter = w * h
        keep[i + 1:] &= inter / (area[i] + area[i + 1:] - inter) < threshold
    return keep


def test_many_boxes_match_sequential_reference():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 300, (3000, 2))
    wh = rng.uniform(5, 60, (3000, 2))
    b = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    keep = greedy_nms(torch.from_numpy(b), 0.5)
    assert np.array_equal(keep.numpy(), reference_greedy(b.astype(np.float64), 0.5))
    assert 50 < keep.sum() < 2900


def prediction_rows(rows):
    """rows of (x1, y1, x2, y2, obj, class scores...) -> prediction rows (cx, cy, w, h, obj, classes)."""
    r = torch.tensor(rows, dtype=torch.float32)
    return torch.cat([(r[:, :2] + r[:, 2:4]) / 2, r[:, 2:4] - r[:, :2], r[:, 4:]], dim=1)


def test_select_persons_objectness_and_argmax():
    pred = prediction_rows([
        (0, 0, 10, 10, 0.05, 0.9, 0.1),   # objectness not > 0.05
        (0, 0, 10, 10, 0.06, 0.2, 0.3),   # argmax is class 1
        (2, 4, 12, 24, 0.06, 0.2, 0.1),   # kept (low class score does not matter)
        (0, 0, 10, 10, 0.9, 0.5, 0.5),    # tie -> first class (person)
    ]).unsqueeze(0)
    batch_index, rows = select_persons(pred, 0.05)
    assert batch_index.tolist() == [0, 0]
    torch.testing.assert_close(rows, torch.tensor([[2, 4, 12, 24, 0.06, 0.2, 0], [0, 0, 10, 10, 0.9, 0.5, 0]]))


def test_write_results_sorted_by_objectness_not_product():
    pred = prediction_rows([
        (0, 0, 10, 10, 0.5, 0.9, 0.0),   # obj·cls 0.45
        (1, 0, 11, 10, 0.6, 0.4, 0.0),   # obj·cls 0.24 but higher objectness -> wins
    ]).unsqueeze(0)
    rows = write_results(pred, 0.05, 0.6)
    assert rows.shape == (1, 8)
    torch.testing.assert_close(rows[0], torch.tensor([0, 1, 0, 11, 10, 0.6, 0.4, 0]))


def pairs(count, image_offset=0.0):
    """`count` pairs of boxes with IoU ~0.587 (kept at 0.6, merged at 0.55), far apart from each other."""
    rows = []
    for k in range(count):
        x = 40.0 * k + image_offset
        rows += [(x, 0, x + 9, 9, 0.9 - 0.001 * k, 1, 0), (x + 2.6, 0, x + 11.6, 9, 0.5 - 0.001 * k, 1, 0)]
    return prediction_rows(rows)


def test_dynamic_rerun_above_100_rows():
    single = pairs(30).unsqueeze(0)
    rows, rerun = dynamic_write_results(single)
    assert rows.shape[0] == 60 and not rerun
    many = pairs(51).unsqueeze(0)  # 102 rows at 0.6 -> rerun at 0.55 leaves the 51 first boxes
    rows, rerun = dynamic_write_results(many)
    assert rerun and rows.shape[0] == 51


def test_dynamic_rerun_counts_the_whole_batch():
    batch = torch.stack([pairs(30), pairs(30, 5.0)])  # 60 + 60 rows > 100 over the batch
    rows, rerun = dynamic_write_results(batch)
    assert rerun and rows.shape[0] == 60
    assert rows[:, 0].tolist() == [0.0] * 30 + [1.0] * 30


def test_empty_result_has_eight_columns():
    pred = prediction_rows([(0, 0, 10, 10, 0.01, 1, 0)]).unsqueeze(0)
    assert write_results(pred).shape == (0, 8)
    assert dynamic_write_results(pred)[0].shape == (0, 8)


def test_map_to_image_float_offsets_and_clamp():
    # 200 x 100 image in 256: s = 1.28, y offset (256 - 128) / 2 = 64, x offset 0
    wh = torch.tensor([[200.0, 100.0]] * 2)
    b = boxes((0, 64, 256, 192), (-10, 50, 300, 250))
    torch.testing.assert_close(map_to_image(b, wh, 256), boxes((0, 0, 200, 100), (0, 0, 200, 100)))
    # 97 x 150 image: s = 256/150, x offset (256 - s*97)/2 = 45.2267 (the paste offset is the integer 45)
    s = 256 / 150
    offset = (256 - s * 97) / 2
    mapped = map_to_image(boxes((100, 30, 120, 40)), torch.tensor([[97.0, 150.0]]), 256)
    expected = [(100 - offset) / s, 30 / s, (120 - offset) / s, 40 / s]
    torch.testing.assert_close(mapped[0], torch.tensor(expected), rtol=0, atol=1e-4)
