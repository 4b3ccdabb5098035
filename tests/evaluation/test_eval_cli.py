"""tools/evaluate.py run as users run it: `python tools/evaluate.py ...` from the repository root."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.evaluation.eval_builders import gt_annotation, person, result

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/evaluate.py", *map(str, args)], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def gt_and_results(gt_writer, tmp_path):
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.1, 2: None}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    results = tmp_path / "results.json"
    results.write_text(json.dumps([result("1.jpg", joints[:, :2], 0.9, bbox=[0, 0, 100, 200])]))
    return gt, results


def assert_one_line_error(proc, *parts):
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in proc.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])


def test_gt_without_crowd_index_then_flag(gt_and_results, tmp_path):
    gt, results = gt_and_results
    out = tmp_path / "metrics.json"
    proc = run_cli("--dataset", "crowdpose", "--gt", gt, "--results", results, "--out", out)
    assert_one_line_error(proc, str(gt), "images[1].crowdIndex")
    assert not out.exists() and not list(tmp_path.glob(".metrics.json*"))

    proc = run_cli("--dataset", "crowdpose", "--gt", gt, "--results", results, "--out", out, "--no-easy-medium-hard")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(out.read_text())
    assert list(metrics) == ["AP", "AP50", "AP75", "AP80", "AP90", "AR", "AR50", "AR75"]
    assert metrics["AP"] == pytest.approx(1.0, abs=1e-12)
    assert "AP90" in proc.stdout and "1.0000" in proc.stdout


@pytest.mark.parametrize("problem", ["missing", "invalid_json", "nan", "unknown_image"])
def test_bad_results_exit_nonzero_without_output(gt_writer, tmp_path, problem):
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    results = tmp_path / "results.json"
    entry = result(1, joints[:, :2], 0.9)
    expected = {"missing": "file not found", "invalid_json": "invalid JSON", "nan": "[0].keypoints[0]",
                "unknown_image": "[0].image_id"}[problem]
    if problem == "invalid_json":
        results.write_text("[{")
    elif problem == "nan":
        entry["keypoints"][0] = float("nan")
        results.write_text(json.dumps([entry]))
    elif problem == "unknown_image":
        results.write_text(json.dumps([dict(entry, image_id=99)]))
    out = tmp_path / "metrics.json"
    proc = run_cli("--dataset", "crowdpose", "--gt", gt, "--results", results, "--out", out)
    assert_one_line_error(proc, str(results), expected)
    assert not out.exists()


def test_out_folder_missing(gt_and_results, tmp_path):
    gt, results = gt_and_results
    out = tmp_path / "no_such_dir" / "m.json"
    proc = run_cli("--dataset", "crowdpose", "--gt", gt, "--results", results, "--out", out, "--no-easy-medium-hard")
    assert_one_line_error(proc, "--out", "does not exist")


def test_empty_results_give_zero_not_a_crash(gt_writer, tmp_path):
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    results = tmp_path / "empty.json"
    results.write_text("[]")
    out = tmp_path / "m.json"
    proc = run_cli("--dataset", "crowdpose", "--gt", gt, "--results", results, "--out", out)
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads(out.read_text())
    assert metrics["AP"] == 0.0 and metrics["AR"] == 0.0 and metrics["AP_medium"] == 0.0
    assert metrics["AP_easy"] == -1.0  # no image in the easy subset


def test_wrong_keypoint_count_through_cli(gt_and_results, tmp_path):
    gt, _ = gt_and_results
    results = tmp_path / "r17.json"
    results.write_text(json.dumps([result(1, person(0, 0, 10, 10, 17)[:, :2], 0.5)]))
    proc = run_cli("--dataset", "crowdpose", "--gt", gt, "--results", results, "--no-easy-medium-hard")
    assert_one_line_error(proc, str(results), "[0].keypoints", "expected 42 numbers", "51")


def test_convention_switch(gt_writer, tmp_path):
    """--convention xtcocotools drops the detection whose joint scores are all 0 (a false
    positive ranked first under the official convention: AP 0.5)."""
    joints = person(0, 0, 100, 200, 14)
    gt = gt_writer("crowdpose", {1: 0.5}, [gt_annotation(1, joints, (0, 0, 100, 200))])
    far = [[x + 3000, y, 0.0] for x, y in joints[:, :2]]
    results = tmp_path / "results.json"
    results.write_text(json.dumps([result(1, far, 0.9), result(1, joints[:, :2], 0.5)]))
    values = {}
    for convention in ("official", "xtcocotools"):
        out = tmp_path / f"{convention}.json"
        proc = run_cli("--dataset", "crowdpose", "--gt", gt, "--results", results, "--out", out,
                       "--convention", convention)
        assert proc.returncode == 0, proc.stderr
        values[convention] = json.loads(out.read_text())["AP"]
    assert values["official"] == pytest.approx(0.5, abs=1e-12)
    assert values["xtcocotools"] == pytest.approx(1.0, abs=1e-12)
