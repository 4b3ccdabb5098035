"""The command lines as a user runs them: kill -9 in the middle of training and resume, test.sh on
the produced folder, and one-line errors (exit 2, no traceback) for bad input."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from opec.evaluation.map_file import read_map_file

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}


def cli(*args, **kw):
    return subprocess.run([PY, *map(str, args)], cwd=REPO, env=ENV, capture_output=True, text=True,
                          timeout=300, **kw)


def train_steps(work_dir: Path) -> int:
    try:
        text = (work_dir / "log.jsonl").read_text()
    except FileNotFoundError:
        return 0
    return sum(1 for line in text.splitlines() if line.endswith("}") and '"group": "train"' in line)


def test_kill_mid_epoch_then_resume(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data, schedule="dict(epochs=3, lr=1e-3, clip_grad_norm=1.0, "
                      "lr_schedule=dict(warmup_lr=1e-5, warmup_epochs=1, min_lr=1e-5))")
    work = tmp_path / "w"
    proc = subprocess.Popen([PY, "tools/train.py", str(cfg), "--work-dir", str(work), "--device", "cpu"],
                            cwd=REPO, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    # 3 steps per epoch: wait for the second step of epoch 1, i.e. in the middle of an epoch
    while train_steps(work) < 5 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert [e for e, *_ in read_map_file(work / "mAP.txt")] == [0]

    done = cli("tools/train.py", cfg, "--work-dir", work, "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert [e for e, *_ in read_map_file(work / "mAP.txt")] == [0, 1, 2]
    for name in ("0.pth", "1.pth", "2.pth", "best_checkpoint.pth", "last.pth"):
        torch.load(work / name, weights_only=True)
    assert not list(work.glob(".*.tmp"))

    # test.sh on the produced folder prints both columns and the full metric set
    shown = subprocess.run(["bash", "test.sh", str(work), str(cfg), "--all"], cwd=REPO, env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.count("(without best match)") == 3
    for key in ("AP50", "AP75", "AP80", "AP90", "AR", "AP_medium", "best match"):
        assert key in shown.stdout
    best = cli("tools/test.py", cfg, "--load-dir", work)
    ap = max(ap for _, ap, _ in read_map_file(work / "mAP.txt"))
    assert f"AP {ap:.4f} (without best match)" in best.stdout


def test_kill_during_the_feature_cache_build_then_rerun(tiny_data, tmp_path, make_config, model_source):
    """SIGKILL while the disk feature cache is half written: the rerun rebuilds it and ends with the
    mAP.txt of a run that was never interrupted."""
    cfg = make_config(
        tmp_path, tiny_data,
        custom_imports="dict(imports=['tests.toy_feature_net', 'tests.engine.slow_feature_net'], "
                       "allow_failed_imports=False)",
        model=model_source("dict(type='SlowToyFeatureNet', scale=4, seed=0, delay=0.3)"),
        feature_cache="dict(storage='disk', dtype='float32', batch_size=2)",
        schedule="dict(epochs=1, lr=1e-3, clip_grad_norm=1.0, lr_schedule=dict(warmup_lr=1e-5, warmup_epochs=1, "
                 "min_lr=1e-5))")
    work, log = tmp_path / "killed", tmp_path / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([PY, "tools/train.py", str(cfg), "--work-dir", str(work), "--device", "cpu"],
                                cwd=REPO, env=ENV, stdout=out, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    # the first progress line of the training split's cache (printed off a terminal)
    while "[features (train)] " not in log.read_text().replace("computing", "") \
            and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    cache = work / "feature_cache"
    assert list(cache.glob("train.tap*.npy")) and not (cache / "train.json").exists()  # half built
    assert not (work / "last.pth").exists()

    rerun = cli("tools/train.py", cfg, "--work-dir", work, "--device", "cpu")
    assert rerun.returncode == 0, rerun.stderr
    assert "computing the frozen SPPE taps" in rerun.stdout  # rebuilt, not taken as complete
    straight = cli("tools/train.py", cfg, "--work-dir", tmp_path / "straight", "--device", "cpu")
    assert straight.returncode == 0, straight.stderr
    assert (work / "mAP.txt").read_text() == (tmp_path / "straight" / "mAP.txt").read_text()
    assert [e for e, *_ in read_map_file(work / "mAP.txt")] == [0]
    for tap in sorted(cache.glob("*.npy")):  # the cache itself, bit for bit
        assert tap.read_bytes() == (tmp_path / "straight" / "feature_cache" / tap.name).read_bytes(), tap.name


def one_line_error(result, *fragments):
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_cli_exits_2_with_one_line(tmp_path):
    one_line_error(cli("tools/train.py", tmp_path / "nope.py"), "nope.py", "not found")


def test_bad_input_errors_are_one_line(tiny_data, tmp_path, make_config, tool, capsys, model_source):
    train, test = tool("train"), tool("test")

    def error_line(main, *args):
        capsys.readouterr()
        assert main([str(a) for a in args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        return err[0]

    good = make_config(tmp_path, tiny_data, name="good")
    assert "last.pth" in error_line(train.main, good, "--work-dir", tmp_path / "w2", "--resume", "--device", "cpu")
    line = error_line(test.main, good, "--load-dir", tmp_path / "empty")
    assert "best_checkpoint.pth" in line and "not found" in line
    assert "visdom address" in error_line(train.main, good, "--visdom", "localhost:port", "--device", "cpu")
    data = tmp_path / "data"
    shutil.copytree(tiny_data, data)
    (data / "images" / "100000.jpg").unlink()
    cfg = make_config(tmp_path, data)
    line = error_line(train.main, cfg, "--work-dir", tmp_path / "w", "--device", "cpu")
    assert "1 image file(s) not found" in line and "100000.jpg" in line
    bad = json.loads((data / "train_process_datasets" / "train_demo.json").read_text())
    bad[2]["pair"][0]["dt"] = bad[2]["pair"][0]["dt"][:5]
    (data / "train_process_datasets" / "train_demo.json").write_text(json.dumps(bad))
    line = error_line(train.main, cfg, "--work-dir", tmp_path / "w3", "--device", "cpu")
    assert "train_demo.json[2].pair[0].dt" in line and "12x3" in line
    missing_sppe = make_config(tmp_path, tiny_data, name="nosppe",
                               model=model_source("dict(type='FastPose', weights='nowhere/duc_se.pth')"))
    assert "nowhere/duc_se.pth" in error_line(train.main, missing_sppe, "--work-dir", tmp_path / "w4", "--device", "cpu")
