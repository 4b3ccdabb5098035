"""tools/visualize.py on synthetic images and hand-written results files."""
from __future__ import annotations

import json
import re

import cv2
import numpy as np
import pytest

from opec.cli import visualize as _cli


H, W = 90, 120


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("103319.jpg", "000000000785.jpg"):
        cv2.imwrite(str(folder / name), np.full((H, W, 3), 100, np.uint8))
    return folder


def _person(num_joints, dx=0.0):
    kp = np.zeros((num_joints, 3))
    kp[:, 0] = 30 + dx + 60 * np.arange(num_joints) / num_joints
    kp[:, 1] = 10 + 70 * (np.arange(num_joints) % 4) / 4
    kp[:, 2] = 0.9
    return kp.ravel().tolist()


def _dump(path, entries):
    path.write_text(json.dumps(entries))
    return path


def test_results_with_string_and_numeric_ids(tmp_path, images):
    results = _dump(tmp_path / "res.json", [
        dict(image_id="103319.jpg", keypoints=_person(14), score=0.9),
        dict(image_id=785, keypoints=_person(14), score=0.2),
    ])
    out = tmp_path / "out"
    assert _cli.main(["--images", str(images), "--results", str(results), "--out", str(out)]) == 0
    drawn = {p.name: cv2.imread(str(p)) for p in out.iterdir()}
    assert sorted(drawn) == ["000000000785.png", "103319.png"]
    for picture in drawn.values():
        assert picture.shape == (H, W, 3)
        assert (picture != 100).any(-1).sum() > 100  # skeleton pixels

    # --min-score drops the 0.2 person: that image stays untouched.
    out2 = tmp_path / "out2"
    assert _cli.main(["--images", str(images), "--results", str(results), "--out", str(out2),
                      "--min-score", "0.5"]) == 0
    assert (cv2.imread(str(out2 / "000000000785.png")) == 100).all()


def test_before_after_panels(tmp_path, images):
    before = _dump(tmp_path / "before.json",
                   [dict(image_id="103319.jpg", keypoints=_person(17), score=1.0)])
    after = _dump(tmp_path / "after.json",
                  [dict(image_id="103319.jpg", keypoints=_person(17, dx=5), score=1.0)])
    out = tmp_path / "out"
    assert _cli.main(["--images", str(images), "--results", str(before), "--after", str(after),
                      "--out", str(out)]) == 0
    panel = cv2.imread(str(out / "103319.png"))
    assert panel.shape[0] > H and 2 * W + 4 <= panel.shape[1] <= 2 * W + 20


def test_ground_truth_through_gt_file(tmp_path, images):
    gt = _dump(tmp_path / "gt.json", dict(
        images=[dict(id=7, file_name="103319.jpg")],
        annotations=[dict(image_id=7, keypoints=_person(17), bbox=[0, 0, 1, 1])]))
    out = tmp_path / "out"
    assert _cli.main(["--images", str(images), "--gt", str(gt), "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["103319.png"]


@pytest.mark.parametrize("entries, extra, message", [
    ([dict(image_id="103319.jpg", keypoints=[1, 2, 3], score=1)], [], "keypoints has 3 numbers"),
    ([dict(image_id="103319.jpg", score=1)], [], r"entry\[0\]: needs 'image_id' and 'keypoints'"),
    ([dict(image_id="nope.jpg", keypoints=_person(14), score=1)], [], "none of the 1 images"),
    ([], [], "missing or empty"),
    ([dict(image_id="103319.jpg", keypoints=_person(14), score=1)], ["--after"],
     "has 0 persons"),
])
def test_bad_inputs_are_one_line_errors(tmp_path, images, capsys, entries, extra, message):
    results = _dump(tmp_path / "res.json", entries)
    args = ["--images", str(images), "--results", str(results), "--out", str(tmp_path / "out")]
    if extra:
        args += ["--after", str(_dump(tmp_path / "after.json",
                                      [dict(image_id="x.jpg", keypoints=_person(14))]))]
    assert _cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert re.search(message, err), err
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())  # nothing written


def test_single_image_option(tmp_path, images):
    results = _dump(tmp_path / "res.json", [
        dict(image_id="103319.jpg", keypoints=_person(12), score=0.9),
        dict(image_id=785, keypoints=_person(12), score=0.9),
    ])
    out = tmp_path / "out"
    assert _cli.main(["--images", str(images), "--results", str(results), "--out", str(out),
                      "--image", "000000000785.jpg"]) == 0
    assert [p.name for p in out.iterdir()] == ["000000000785.png"]
