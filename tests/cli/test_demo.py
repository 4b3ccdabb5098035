"""tools/demo.py end to end with weight files written by the test (tiny YOLO, designed FastPose,
random OPEC-Net): JSON + PNGs, before/after panels, and one-line errors without partial output."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from opec.cli import demo
from tests.apis import weight_files

REPO_ROOT = Path(__file__).resolve().parents[2]


SCORES = weight_files.SCORES  # joint scores of the designed SPPE (COCO order)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.set_num_threads(2)
    folder = tmp_path_factory.mktemp("weights")
    cfg, yolo = weight_files.write_tiny_yolo(folder)
    return dict(cfg=cfg, yolo=yolo, sppe=weight_files.write_sppe(folder / "duc_se.pth", SCORES),
                refiner=weight_files.write_refiner(folder / "opec.pth"))


def _args(weights, *extra):
    return ["--yolo-cfg", str(weights["cfg"]), "--yolo-weights", str(weights["yolo"]),
            "--inp-dim", "64", "--sppe-weights", str(weights["sppe"]),
            "--checkpoint", str(weights["refiner"]), *extra]


def test_folder_gives_results_json_and_before_after_pngs(weights, fixtures_dir, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    names = ["000000000785.jpg", "000000040083.jpg"]
    for name in names:
        shutil.copy(fixtures_dir / "coco" / name, images / name)
    (images / "notes.txt").write_text("not an image")  # ignored: not an image suffix
    out = tmp_path / "out"
    assert demo.main([str(images), "--out-dir", str(out), "--before-after", *_args(weights)]) == 0

    results = json.loads((out / "alphapose-results.json").read_text())
    assert sorted({r["image_id"] for r in results}) == names     # one detection per image
    for entry in results:
        assert entry["category_id"] == 1 and len(entry["keypoints"]) == 14 * 3
        keypoints = np.array(entry["keypoints"]).reshape(14, 3)
        assert np.allclose(keypoints[:12, 2], SCORES[5:], atol=1e-4)
        x0, y0, x1, y1 = entry["bbox"]
        assert x1 > x0 and y1 > y0
    for name in names:
        image = cv2.imread(str(images / name))
        panel = cv2.imread(str(out / "vis" / (Path(name).stem + ".png")))
        assert panel is not None and panel.shape[1] > 2 * image.shape[1]   # two halves + gap
    initial = json.loads((out / "initial-results.json").read_text())
    assert [(r["image_id"], r["bbox"]) for r in initial] == [(r["image_id"], r["bbox"]) for r in results]
    for before, after in zip(initial, results):   # only joints scored < 0.2 may move
        before = np.array(before["keypoints"]).reshape(14, 3)[:12]
        after = np.array(after["keypoints"]).reshape(14, 3)[:12]
        keep = before[:, 2] >= 0.2
        assert np.array_equal(before[keep], after[keep]) and np.array_equal(before[:, 2], after[:, 2])
    assert sorted(p.name for p in out.iterdir()) == ["alphapose-results.json", "initial-results.json", "vis"]
    assert not list(tmp_path.glob(".out-*"))                             # staging folder removed


def test_a_rerun_into_the_same_folder_leaves_nothing_stale(weights, fixtures_dir, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name in ("000000000785.jpg", "000000040083.jpg"):
        shutil.copy(fixtures_dir / "coco" / name, images / name)
    out = tmp_path / "out"
    assert demo.main([str(images), "--out-dir", str(out), *_args(weights)]) == 0
    assert sorted(p.name for p in (out / "vis").iterdir()) == ["000000000785.png", "000000040083.png"]
    (out / "notes.txt").write_text("the user's")  # not an output of the demo: kept

    # Second run: one image, no refinement.
    assert demo.main([str(images / "000000040083.jpg"), "--out-dir", str(out), "--no-refine", *_args(weights)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["alphapose-results.json", "notes.txt", "vis"]
    assert [p.name for p in (out / "vis").iterdir()] == ["000000040083.png"]
    results = json.loads((out / "alphapose-results.json").read_text())
    assert {r["image_id"] for r in results} == {"000000040083.jpg"}
    assert not list(tmp_path.glob(".out-*"))


@pytest.mark.slow
def test_video_and_coco_format(weights, fixtures_dir, tmp_path):
    frame = cv2.imread(str(fixtures_dir / "crowdpose" / "103319.jpg"))
    frame = cv2.resize(frame, (160, 120))
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 5,
                             (frame.shape[1], frame.shape[0]))
    for _ in range(2):
        writer.write(frame)
    writer.release()
    out = tmp_path / "out"
    assert demo.main([str(video), "--out-dir", str(out), "--format", "coco", *_args(weights)]) == 0
    results = json.loads((out / "alphapose-results.json").read_text())
    assert [r["image_id"] for r in results] == ["0.jpg", "1.jpg"]
    assert all(len(r["keypoints"]) == 17 * 3 for r in results)
    assert sorted(p.name for p in (out / "vis").iterdir()) == ["0.png", "1.png"]


def _expect_error(argv, tmp_path, capsys, *words):
    out = tmp_path / "out"
    assert demo.main([*argv, "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    for word in words:
        assert word in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out-*"))


def test_bad_inputs_are_one_line_errors_without_output(weights, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    _expect_error([str(empty), *_args(weights)], tmp_path, capsys, str(empty), "no images")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\x00garbage")
    _expect_error([str(broken), *_args(weights)], tmp_path, capsys, str(broken), "cannot read image")
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"\x00garbage")
    _expect_error([str(video), *_args(weights)], tmp_path, capsys, str(video), "cannot read video")
    _expect_error([str(tmp_path / "missing.jpg"), *_args(weights)], tmp_path, capsys, "missing.jpg")


def test_unreadable_image_in_a_folder_leaves_no_partial_output(weights, fixtures_dir, tmp_path, capsys):
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(fixtures_dir / "coco" / "000000000785.jpg", images / "b_good.jpg")
    (images / "a_bad.png").write_bytes(b"not a png")
    _expect_error([str(images), *_args(weights)], tmp_path, capsys, "a_bad.png")


def test_missing_weights_name_the_file_and_the_readme(weights, fixtures_dir, tmp_path, capsys):
    image = str(fixtures_dir / "coco" / "000000000785.jpg")
    for flag, missing in (("--sppe-weights", "nowhere/duc_se.pth"),
                          ("--yolo-weights", "nowhere/yolov3-spp.weights"),
                          ("--checkpoint", "nowhere/best_checkpoint.pth")):
        argv = _args(weights)
        argv[argv.index(flag) + 1] = missing
        _expect_error([image, *argv], tmp_path, capsys, missing, "weights/README.md")
    # As a command: exit status 2 and the one line, no traceback.
    argv = _args(weights)
    argv[argv.index("--sppe-weights") + 1] = "nowhere/duc_se.pth"
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "demo.py"), image,
                           "--out-dir", str(tmp_path / "out"), *argv],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "nowhere/duc_se.pth" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


def test_images_without_persons_are_still_rendered(fixtures_dir):
    image = cv2.imread(str(fixtures_dir / "coco" / "000000000785.jpg"))
    assert demo.render(image, [], "crowdpose", False).shape == image.shape
    assert demo.render(image, [], "coco", True).shape[1] > 2 * image.shape[1]
    assert demo.results_entries("a.jpg", []) == []
