"""Every command-line tool against every class of bad input: exit code 2, exactly one line on stderr
naming the file / field / option, no traceback, and no output left behind.

Each row is (tool, case): ``case`` builds its inputs in a fresh folder and returns the argument list
and a fragment the error line must contain. Tools run in-process (``opec.cli.<tool>.main``); the
training rows use the tiny generated data and the ``ToyFeatureNet`` configs of tests/engine, so the
whole table runs in seconds. ``test_train_fails_before_any_feature_is_computed`` proves the order.
"""
from __future__ import annotations

import importlib
import json
import math
import shutil
import socket
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from opec.cli.make_demo_data import generate
from tests.engine.conftest import write_config

TOY = "dict(type='ToyFeatureNet', scale=4, seed=0)"
OPEC = "dict(type='OPECNet', point_head='integral')"
TOP_DOWN = "dict(type='TopDownRefiner', feature_net={feature_net}, refiner={refiner}, fine_tune=False)"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny")
    generate(out, train_images=4, test_images=2, seed=3)
    return out


# ----------------------------------------------------------------------------------------- builders
def _gt(box=(10.0, 10.0, 40.0, 80.0), keypoint=50.0) -> dict:
    """A CrowdPose GT with one image (id 1) and one person."""
    kps = []
    for j in range(14):
        kps += [keypoint + j, keypoint + 2 * j, 2]
    return {"images": [{"id": 1, "file_name": "1.jpg", "width": 200, "height": 200, "crowdIndex": 0.1}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "keypoints": kps,
                             "num_keypoints": 14, "bbox": list(box), "area": box[2] * box[3]}],
            "categories": [{"id": 1, "name": "person"}]}


def _results(value=50.0, image_id=1, joints=14) -> list:
    kps = []
    for j in range(joints):
        kps += [value + j, value + 2 * j, 0.9]
    return [{"image_id": image_id, "category_id": 1, "keypoints": kps, "score": 0.9}]


def _write(folder: Path, name: str, data) -> Path:
    path = folder / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _evaluate(gt=None, results=None, fragment=None):
    """An evaluate row; its --out folder exists, so that the error is about the input."""
    def case(d: Path):
        g = _write(d, "gt.json", _gt() if gt is None else gt)
        r = _write(d, "res.json", _results() if results is None else results)
        (d / "out").mkdir()
        return ["--dataset", "crowdpose", "--gt", str(g), "--results", str(r), "--out", str(d / "out" / "m.json")], \
            fragment
    return case


def _analyze(gt=None, results=None, before=None, extra=(), fragment=None):
    """An analyze row: the report folder ``d/report`` must not appear."""
    def case(d: Path):
        g = _write(d, "gt.json", _gt() if gt is None else gt)
        r = _write(d, "res.json", _results() if results is None else results)
        args = ["--dataset", "crowdpose", "--gt", str(g), "--results", str(r), "--out", str(d / "report")]
        if before is not None:
            args += ["--before", str(_write(d, "before.json", before))]
        return args + list(extra), fragment
    return case


def _train_cfg(d: Path, data: Path, **extra) -> Path:
    return write_config(d, data, **extra)


def _train(args=(), copy_data=None, cfg_extra=None, before=None, fragment=None):
    """A training row: ``copy_data(data)`` edits a private copy of the tiny data; ``before(work)``
    prepares the work dir."""
    def case(d: Path, tiny: Path):
        data = tiny
        if copy_data is not None:
            data = d / "data"
            shutil.copytree(tiny, data)
            copy_data(data)
        cfg = _train_cfg(d, data, **{k: v.replace("{data}", str(data)) for k, v in (cfg_extra or {}).items()})
        work = d / "work"
        if before is not None:
            before(work, d)
        return [str(cfg), "--work-dir", str(work), "--device", "cpu", *args], fragment
    case.needs_tiny = True
    return case


def _edit_json(relative: str, edit):
    def apply(data: Path):
        path = data / relative
        content = json.loads(path.read_text())
        edit(content)
        path.write_text(json.dumps(content))
    return apply


def _saved_state(work: Path, d: Path, model: str) -> None:
    """A last.pth of a model built from another config (``model``: the config's model line)."""
    from opec.config import load_config
    from opec.refiner import build_model

    cfg = load_config(write_config(d, d, name="other", model=model))
    state = build_model(cfg.model).checkpoint_state()
    work.mkdir(parents=True)
    torch.save({"model": state, "optimizer": {}, "next_epoch": 1, "best_ap": 0.0, "history": [],
                "rng": {}}, work / "last.pth")


def _truncated_last(work: Path, d: Path) -> None:
    _saved_state(work, d, TOP_DOWN.format(feature_net=TOY, refiner=OPEC))
    data = (work / "last.pth").read_bytes()
    (work / "last.pth").write_bytes(data[:len(data) // 2])


def _plot(text: str | bytes):
    def case(d: Path):
        path = d / "mAP.txt"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return [str(path), "--out", str(d / "out" / "curve.png")], None
    return case


def _stats(box):
    def case(d: Path):
        gt = _gt()
        gt["annotations"].append(dict(gt["annotations"][0], id=2, bbox=box))
        return [str(_write(d, "gt.json", gt))], None
    return case


def _visualize(results, fragment=None, out_under_file=False):
    def case(d: Path):
        images = d / "images"
        images.mkdir()
        cv2.imwrite(str(images / "1.jpg"), np.zeros((60, 80, 3), np.uint8))
        out = d / "out"
        if out_under_file:
            _write(d, "file", "x")
            out = d / "file" / "out"
        r = _write(d, "res.json", results)
        return ["--images", str(images), "--results", str(r), "--out", str(out)], fragment
    return case


def _demo(make_input, fragment=None, out_under_file=False):
    def case(d: Path):
        inp = make_input(d)
        out = d / "out"
        if out_under_file:
            _write(d, "file", "x")
            out = d / "file" / "out"
        return [str(inp), "--out-dir", str(out), "--no-refine", "--yolo-weights", str(d / "absent.weights")], fragment
    return case


def _file(name: str, content: bytes):
    def make(d: Path) -> Path:
        path = d / name
        path.write_bytes(content)
        return path
    return make


def _nan_gt_keypoint(gt):
    gt["annotations"][0]["keypoints"][3] = float("nan")


def _prepare(edit_gt=None, results=None, fragment=None):
    def case(d: Path):
        gt = _gt()
        if edit_gt is not None:
            edit_gt(gt)
        g = _write(d, "gt.json", gt)
        r = _write(d, "res.json", _results() if results is None else results)
        return ["--gt", str(g), "--results", str(r), "--out-dir", str(d / "out")], fragment
    return case


_LISTENING: list[socket.socket] = []  # closed after each test


def _busy_port() -> int:
    """A localhost port some other program listens on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    _LISTENING.append(sock)
    return sock.getsockname()[1]


# ------------------------------------------------------------------------------------------ the table
CASES = {
    # evaluate
    ("evaluate", "missing GT file"): lambda d: (["--dataset", "crowdpose", "--gt", str(d / "absent.json"),
                                                 "--results", str(_write(d, "r.json", _results()))], "absent.json"),
    ("analyze", "missing GT file"): lambda d: (["--dataset", "crowdpose", "--gt", str(d / "none.json"), "--results",
                                               str(_write(d, "res.json", _results())), "--out", str(d / "report")],
                                              "none.json"),
    ("analyze", "NaN keypoint in the results"): _analyze(
        results=json.dumps(_results()).replace("50.0", "NaN", 1), fragment="keypoints"),
    ("analyze", "GT box of zero width"): _analyze(gt=_gt(box=(10.0, 10.0, 0.0, 80.0)), fragment="bbox"),
    ("analyze", "before file of another image"): _analyze(before=_results(image_id=7), fragment="image_id"),
    ("analyze", "--images not a folder"): lambda d: (
        ["--dataset", "crowdpose", "--gt", str(_write(d, "gt.json", _gt())), "--results",
         str(_write(d, "res.json", _results())), "--images", str(d / "nowhere"), "--out", str(d / "report")],
        "--images"),
    ("analyze", "--out under a file"): lambda d: (
        ["--dataset", "crowdpose", "--gt", str(_write(d, "gt.json", _gt())), "--results",
         str(_write(d, "res.json", _results())), "--out", str(_write(d, "f", "x") / "report")], "--out"),
    ("evaluate", "empty GT file"): _evaluate(gt="", fragment="gt.json"),
    ("evaluate", "truncated results JSON"): _evaluate(results=json.dumps(_results())[:40], fragment="res.json"),
    ("evaluate", "keypoints of the wrong shape"): _evaluate(results=_results(joints=5), fragment="keypoints"),
    ("evaluate", "NaN keypoint in the results"): _evaluate(results=json.dumps(_results()).replace("50.0", "NaN", 1),
                                                                fragment="keypoints"),
    ("evaluate", "1e300 keypoints"): _evaluate(results=_results(value=1e300), fragment="keypoints"),
    ("evaluate", "unknown image id"): _evaluate(results=_results(image_id=7), fragment="image_id"),
    ("evaluate", "GT box of zero width"): _evaluate(gt=_gt(box=(10.0, 10.0, 0.0, 80.0)), fragment="bbox"),
    ("evaluate", "GT box of negative height"): _evaluate(gt=_gt(box=(10.0, 10.0, 40.0, -5.0)), fragment="bbox"),
    ("evaluate", "--out under a file"): lambda d: (
        ["--dataset", "crowdpose", "--gt", str(_write(d, "gt.json", _gt())), "--results",
         str(_write(d, "r.json", _results())), "--out", str(_write(d, "f", "x") / "m.json")], "--out"),
    # prepare_data
    ("prepare_data", "NaN GT keypoint"): _prepare(edit_gt=_nan_gt_keypoint, fragment="keypoints"),
    ("prepare_data", "negative GT width"): _prepare(
        edit_gt=lambda gt: gt["annotations"][0].__setitem__("bbox", [10, 10, -40, 80]), fragment="bbox"),
    ("prepare_data", "empty results list"): _prepare(results=[], fragment="res.json"),
    ("prepare_data", "results matching no GT person"): _prepare(results=_results(value=5000.0), fragment="res.json"),
    ("prepare_data", "--out-dir under a file"): lambda d: (
        ["--gt", str(_write(d, "gt.json", _gt())), "--results", str(_write(d, "r.json", _results())),
         "--out-dir", str(_write(d, "f", "x") / "out")], "--out-dir"),
    # train
    ("train", "--lr nan"): _train(["--lr", "nan"], fragment="--lr"),
    ("train", "--lr -1"): _train(["--lr", "-1"], fragment="--lr"),
    ("train", "--epochs 0"): _train(["--epochs", "0"], fragment="--epochs"),
    ("train", "--epochs -1"): _train(["--epochs", "-1"], fragment="--epochs"),
    ("train", "--batch 0"): _train(["--batch", "0"], fragment="--batch"),
    ("train", "config epochs=-2"): _train(cfg_extra={"schedule": "dict(epochs=-2, lr=1e-3, lr_schedule=dict())"},
                                          fragment="schedule.epochs"),
    ("train", "config syntax error"): lambda d, tiny: (
        [str(_write(d, "broken.py", "seed = 0\nmodel = dict(\n")), "--device", "cpu"], "broken.py:2"),
    ("train", "missing config"): lambda d, tiny: ([str(d / "absent.py")], "absent.py"),
    ("train", "--resume without last.pth"): _train(["--resume"], fragment="last.pth"),
    ("train", "last.pth of another hid_dim"): _train(
        before=lambda w, d: _saved_state(w, d, TOP_DOWN.format(feature_net=TOY, refiner="dict(type='OPECNet', point_head='integral', hid_dim=64)")),
        fragment="last.pth"),
    ("train", "last.pth of the FC head"): _train(
        before=lambda w, d: _saved_state(w, d, TOP_DOWN.format(feature_net=TOY, refiner="dict(type='OPECNet', point_head='fc')")),
        fragment="last.pth"),
    ("train", "truncated last.pth"): _train(before=_truncated_last, fragment="last.pth"),
    ("train", "work dir under a file"): _train(before=lambda w, d: None, fragment="--work-dir"),
    ("train", "test prediction of an image not in the GT"): _train(
        copy_data=_edit_json("test_process_datasets/crowdpose_test.json",
                             lambda gt: gt.__setitem__("images", gt["images"][1:])), fragment="image_id"),
    ("train", "NaN in a training pair"): _train(
        copy_data=_edit_json("train_process_datasets/train_demo.json",
                             lambda pairs: pairs[0]["pair"][0]["dt"][0].__setitem__(0, math.inf)),
        fragment="train_demo.json[0].pair[0].dt"),
    ("train", "missing image"): _train(copy_data=lambda data: next((data / "images").glob("*.jpg")).unlink(),
                                       fragment="image file(s) not found"),
    ("train", "corrupt training image (DataLoader workers)"): _train(
        copy_data=lambda data: (data / "images" / "100003.jpg").write_bytes(b"\xff\xd8\xff truncated"),
        cfg_extra={"train_data": "dict(annotations=[dict(json_file='{data}/train_process_datasets/train_demo.json', "
                                 "type='crowdpose', img_dir='{data}/images')], batch_images=2, num_workers=2)"},
        fragment="100003.jpg"),
    ("train", "truncated duc_se.pth"): _train(
        cfg_extra={"model": TOP_DOWN.format(feature_net="dict(type='FastPose', weights='{w}')", refiner=OPEC)},
        fragment="duc_se.pth"),
    ("train", "a YOLO file given as the SPPE checkpoint"): _train(
        cfg_extra={"model": TOP_DOWN.format(feature_net="dict(type='FastPose', weights='{y}')", refiner=OPEC)},
        fragment="yolo.weights"),
    # test
    ("test", "missing best_checkpoint.pth"): lambda d, tiny: (
        [str(_train_cfg(d, tiny)), "--load-dir", str(d / "empty"), "--device", "cpu"], "best_checkpoint.pth"),
    ("test", "truncated checkpoint"): lambda d, tiny: (
        [str(_train_cfg(d, tiny)), "--checkpoint", str(_write(d, "c.pth", "PK\x03\x04 half")), "--device", "cpu"],
        "c.pth"),
    # dataset_stats
    ("dataset_stats", "missing GT file"): lambda d: ([str(d / "absent.json")], "absent.json"),
    ("dataset_stats", "NaN box"): _stats([float("nan"), 0, 10, 10]),
    ("dataset_stats", "inf box"): _stats([0, 0, float("inf"), 10]),
    ("dataset_stats", "--hist under a file"): lambda d: (
        [str(_write(d, "gt.json", _gt())), "--hist", str(_write(d, "f", "x") / "h.png")], "h.png"),
    # plot_map
    ("plot_map", "missing mAP.txt"): lambda d: ([str(d / "absent.txt")], "absent.txt"),
    ("plot_map", "NaN AP"): _plot("0\t0.5\t0.6\n1\tnan\t0.6\n"),
    ("plot_map", "inf AP"): _plot("0\t0.5\t0.6\n1\tinf\t0.6\n"),
    ("plot_map", "negative AP"): _plot("0\t0.5\t0.6\n1\t-0.5\t0.6\n"),
    ("plot_map", "duplicate epochs"): _plot("0\t0.5\t0.6\n1\t0.6\t0.6\n1\t0.7\t0.6\n"),
    ("plot_map", "binary file"): _plot(b"\x00\xff\xfe\x00garbage\x89PNG"),
    # visualize
    ("visualize", "missing results"): lambda d: (
        ["--images", str(d), "--results", str(d / "absent.json"), "--out", str(d / "out")], "absent.json"),
    ("visualize", "coordinates of 1e12"): _visualize(_results(value=1e12, image_id="1.jpg"), fragment="keypoints"),
    ("visualize", "--out under a file"): _visualize(_results(image_id="1.jpg"), out_under_file=True, fragment="--out"),
    # demo
    ("demo", "missing input"): _demo(lambda d: d / "absent.jpg", fragment="absent.jpg"),
    ("demo", "corrupt image"): _demo(_file("broken.jpg", b"\xff\xd8\xff garbage"), fragment="broken.jpg"),
    ("demo", "zero-byte video"): _demo(_file("clip.mp4", b""), fragment="clip.mp4"),
    ("demo", "--out-dir under a file"): _demo(_file("a.jpg", cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))[1]
                                                    .tobytes()), out_under_file=True, fragment="--out-dir"),
    # visdom_server
    ("visdom_server", "--port 70000"): lambda d: (["--port", "70000"], "--port"),
    ("visdom_server", "--port already in use"): lambda d: (["--port", str(_busy_port()), "--bind-local"], "in use"),
    ("visdom_server", "--env-path under a file"): lambda d: (
        ["--env-path", str(_write(d, "f", "x") / "envs")], "--env-path"),
    # make_demo_data
    ("make_demo_data", "--train-images 0"): lambda d: (["--out", str(d / "out"), "--train-images", "0"],
                                                       "--train-images"),
    ("make_demo_data", "--out under a file"): lambda d: (["--out", str(_write(d, "f", "x") / "data"),
                                                         "--train-images", "1", "--test-images", "1"], "--out"),
}


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.parametrize("tool, case", list(CASES), ids=[f"{t}: {c}" for t, c in CASES])
def test_bad_input(tool, case, tmp_path, tiny, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    build = CASES[(tool, case)]
    d = tmp_path / "case"
    d.mkdir()
    # weight files some training rows point at
    (d / "duc_se.pth").write_bytes(b"PK\x03\x04" + b"\x00" * 64)  # a zip header, then nothing
    (d / "yolo.weights").write_bytes(np.zeros(5, np.int32).tobytes() + np.ones(64, np.float32).tobytes())
    args, fragment = build(d, tiny) if getattr(build, "needs_tiny", False) or tool in ("train", "test") else build(d)
    args = [a.replace("{w}", str(d / "duc_se.pth")).replace("{y}", str(d / "yolo.weights")) for a in args]
    if case == "work dir under a file":
        _write(d, "file", "x")
        args[args.index("--work-dir") + 1] = str(d / "file" / "work")
    if tool == "train":  # the config file names the weights: rewrite it with the real paths
        cfg = Path(args[0])
        if cfg.is_file():
            cfg.write_text(cfg.read_text().replace("{w}", str(d / "duc_se.pth")).replace("{y}", str(d / "yolo.weights")))
    before = _files(tmp_path)
    capsys.readouterr()
    try:
        code = importlib.import_module(f"opec.cli.{tool}").main(args)
    finally:
        while _LISTENING:
            _LISTENING.pop().close()
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert code == 2, (code, captured.err)
    assert len(lines) == 1 and "Traceback" not in captured.err, captured.err
    if fragment is not None:
        assert fragment in lines[0], lines[0]
    assert "np.float" not in lines[0] and "np.int" not in lines[0], lines[0]  # plain numbers, not numpy reprs
    assert _files(tmp_path) == before, sorted(map(str, _files(tmp_path) - before))


def test_pair_count():
    """The closing note reports this number; every tool of opec/cli appears."""
    tools = {t for t, _ in CASES}
    assert tools == {p.stem for p in Path(importlib.import_module("opec.cli").__file__).parent.glob("*.py")
                     if p.stem not in ("__init__", "errors")}
    assert len(CASES) >= 50
