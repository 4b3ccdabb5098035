"""Occlusion statistics: hand-computed IoUs, the CLI's table and histogram, bad GT files."""
from __future__ import annotations

import itertools
import json
import re

import cv2
import numpy as np
import pytest

from opec.cli import dataset_stats as _cli
from opec.stats import StatsError, markdown_table, occlusion_stats, pairwise_iou_xywh


def _ann(image_id, bbox, iscrowd=0, category_id=1):
    return dict(image_id=image_id, bbox=bbox, iscrowd=iscrowd, category_id=category_id)


def _hand_made_gt():
    """Six images whose largest IoUs are worked out by hand below."""
    annotations = [
        # 1: 10x10 boxes shifted by 5 px -> 50 / (100 + 100 - 50) = 1/3; a far third box.
        _ann(1, [0, 0, 10, 10]), _ann(1, [5, 0, 10, 10]), _ann(1, [100, 100, 10, 10]),
        # 2: an identical box marked iscrowd -> not counted -> one person -> 0 (1.0 with crowd).
        _ann(2, [0, 0, 10, 10]), _ann(2, [0, 0, 10, 10], iscrowd=1),
        # 3: the lower box is half of the upper one -> 50 / 100 = 0.5 exactly (not > 0.5).
        _ann(3, [0, 0, 10, 10]), _ann(3, [0, 0, 10, 5]),
        # 4: one person; an identical non-person box and a zero-width box do not count -> 0.
        _ann(4, [0, 0, 10, 10]), _ann(4, [0, 0, 10, 10], category_id=2), _ann(4, [0, 0, 0, 10]),
        # 5: shifted by 1 px -> 90 / 110 = 9/11.
        _ann(5, [0, 0, 10, 10]), _ann(5, [1, 0, 10, 10]),
        # 6: no annotation at all -> 0.
    ]
    return dict(images=[dict(id=i, file_name=f"{i}.jpg") for i in range(1, 7)],
                annotations=annotations,
                categories=[dict(id=1, name="person"), dict(id=2, name="dog")])


def test_hand_made_largest_iou():
    stats = occlusion_stats(_hand_made_gt(), name="hand")
    np.testing.assert_allclose(stats.largest_iou, [1 / 3, 0, 0.5, 0, 9 / 11, 0])
    assert stats.total == 6
    assert [stats.count_above(t) for t in (0.3, 0.5, 0.75)] == [3, 1, 1]
    assert stats.mean_iou == pytest.approx((1 / 3 + 0.5 + 9 / 11) / 6)
    np.testing.assert_array_equal(stats.persons_per_image, [3, 1, 2, 1, 2, 0])


def test_include_crowd_counts_crowd_boxes():
    stats = occlusion_stats(_hand_made_gt(), include_crowd=True)
    assert stats.largest_iou[1] == pytest.approx(1.0)


def test_pairwise_iou_is_symmetric_with_unit_diagonal():
    boxes = np.array([[0, 0, 4, 4], [2, 2, 4, 4], [10, 10, 1, 2]], float)
    iou = pairwise_iou_xywh(boxes)
    np.testing.assert_allclose(iou, iou.T)
    np.testing.assert_allclose(np.diag(iou), 1.0)
    assert iou[0, 1] == pytest.approx(4 / 28) and iou[0, 2] == 0


def test_markdown_table_cells():
    table = markdown_table([occlusion_stats(_hand_made_gt(), name="hand")])
    header, rule, row = table.splitlines()
    assert header == "Dataset | Total | IoU>0.3 | IoU>0.5 | IoU>0.75 | Avg IoU"
    assert rule.count(":--:") == 6
    assert row == "hand | 6 | 3(50%) | 1(17%) | 1(17%) | 0.28"


def test_cli_prints_table_and_writes_histogram(tmp_path, capsys):
    gt = tmp_path / "hand.json"
    gt.write_text(json.dumps(_hand_made_gt()))
    hist = tmp_path / "out" / "hist.png"
    assert _cli.main([str(gt), "--hist", str(hist)]) == 0
    out = capsys.readouterr().out
    assert "hand | 6 | 3(50%) | 1(17%) | 1(17%) | 0.28" in out
    image = cv2.imread(str(hist))
    assert image is not None and image.shape[0] > 200 and image.shape[1] > 300
    assert image.std() > 10  # a drawn figure, not an empty canvas
    assert [p.name for p in hist.parent.iterdir()] == ["hist.png"]  # no temporary file left


@pytest.mark.parametrize("gt, message", [
    (dict(images=[dict(id=1)]), "'annotations' is missing or empty"),
    (dict(images=[dict(id=1)], annotations=[]), "'annotations' is missing or empty"),
    (dict(images=[dict(id=1)], annotations=[dict(image_id=1, keypoints=[0] * 42)]),
     r"annotations\[0\]\.bbox is missing"),
    (dict(images=[dict(id=1)], annotations=[_ann(7, [0, 0, 1, 1])]),
     r"annotations\[0\]\.image_id 7 is not in 'images'"),
    (dict(annotations=[_ann(1, [0, 0, 1, 1])]), "'images' is missing or empty"),
    ([1, 2, 3], "expected a COCO-format JSON object"),
])
def test_cli_bad_gt_is_one_line_error(tmp_path, capsys, gt, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(gt))
    hist = tmp_path / "hist.png"
    assert _cli.main([str(path), "--hist", str(hist)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err
    assert re.search(message, err)
    assert not hist.exists()


def test_cli_unreadable_and_missing_files(tmp_path, capsys):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert _cli.main([str(broken)]) == 2
    assert "invalid JSON at line 1" in capsys.readouterr().err
    assert _cli.main([str(tmp_path / "absent.json")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_stats_error_is_value_error():
    with pytest.raises(ValueError):
        occlusion_stats({"images": [], "annotations": []})
    assert issubclass(StatsError, ValueError)


def test_crowdpose_val_matches_brute_force(fixtures_dir):
    """The vectorised statistic equals a direct pair-by-pair computation on real GT."""
    gt = json.loads((fixtures_dir / "crowdpose_val" / "crowdpose_val.json").read_text())
    stats = occlusion_stats(gt)
    boxes_by_image = {image["id"]: [] for image in gt["images"]}
    for ann in gt["annotations"]:
        if not ann.get("iscrowd", 0) and ann["bbox"][2] > 0 and ann["bbox"][3] > 0:
            boxes_by_image[ann["image_id"]].append(ann["bbox"])
    expected = []
    for image in gt["images"]:
        best = 0.0
        for (ax, ay, aw, ah), (bx, by, bw, bh) in itertools.combinations(
                boxes_by_image[image["id"]], 2):
            iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
            ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
            inter = iw * ih
            best = max(best, inter / (aw * ah + bw * bh - inter))
        expected.append(best)
    assert stats.total == len(gt["images"])
    np.testing.assert_allclose(stats.largest_iou, expected, rtol=0, atol=1e-12)
    counts = [stats.count_above(t) for t in (0.3, 0.5, 0.75)]
    assert counts == sorted(counts, reverse=True) and counts[0] > 0
