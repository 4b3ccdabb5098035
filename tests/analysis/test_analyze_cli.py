"""opec-analyze: the report folder, its numbers against the evaluator, bad input (exit 2, one
line naming file and field, no report folder), and the installed console script."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tests.analysis.analysis_builders import write_results

from opec.cli.analyze import main
from opec.evaluation import KeypointEvaluator

REPO = Path(__file__).resolve().parents[2]


def run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_report_with_before_and_images(files, tmp_path, capsys):
    gt, before, after, images = files
    out = tmp_path / "report"
    code, _, err = run(["--dataset", "crowdpose", "--gt", gt, "--results", after, "--before", before,
                        "--images", images, "--out", out], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["index.html", "summary.json"]
    summary = json.loads((out / "summary.json").read_text())
    for key, path in (("results", after), ("before", before)):
        expected = KeypointEvaluator(gt, "crowdpose").evaluate(path)
        original = summary["files"][key]["ap_impact"]["original"]
        assert original["all"]["AP"] == expected["AP"]
        assert original["easy"]["AP"] == expected["AP_easy"] and original["medium"]["AP"] == expected["AP_medium"]
    replaced = summary["transitions"]["replaced"]
    inversion, good = summary["transitions"]["states"].index("inversion"), summary["transitions"]["states"].index("good")
    assert replaced["per_joint"]["left_wrist"][inversion][good] == 1 and np.sum(replaced["total"]) == 1
    assert [p["annotation"] for p in summary["persons"]["helped"]] == [0]
    html = (out / "index.html").read_text()
    assert html.count('<img class="person"') == 1 and "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    # a second run replaces the report
    code, _, _ = run(["--dataset", "crowdpose", "--gt", gt, "--results", before, "--out", out], capsys)
    assert code == 0 and "transitions" not in json.loads((out / "summary.json").read_text())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []


def bad(argv, capsys, tmp_path, *parts):
    out = tmp_path / "bad_report"
    code, _, err = run(list(argv) + ["--out", out], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for part in parts:
        assert str(part) in err, (part, err)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bad_report")] == []


def test_bad_results_field(files, tmp_path, capsys):
    gt, before, after, _ = files
    entries = json.loads(after.read_text())
    entries[1]["keypoints"] = entries[1]["keypoints"][:-3]
    broken = write_results(tmp_path / "broken.json", entries)
    bad(["--dataset", "crowdpose", "--gt", gt, "--results", broken], capsys, tmp_path, broken, "[1].keypoints")
    bad(["--dataset", "crowdpose", "--gt", gt, "--results", after, "--before", broken], capsys, tmp_path,
        broken, "[1].keypoints")


def test_bad_gt_and_missing_files(files, tmp_path, capsys):
    gt, before, after, images = files
    data = json.loads(gt.read_text())
    del data["images"][1]["crowdIndex"]
    data["annotations"][0]["bbox"] = [0, 0, 1]
    broken = tmp_path / "gt_broken.json"
    broken.write_text(json.dumps(data))
    bad(["--dataset", "crowdpose", "--gt", broken, "--results", after], capsys, tmp_path, broken,
        "annotations[0].bbox")
    missing = tmp_path / "missing.json"
    bad(["--dataset", "crowdpose", "--gt", gt, "--results", missing], capsys, tmp_path, missing, "file not found")


def test_missing_image(files, tmp_path, capsys):
    gt, before, after, images = files
    (images / "2.jpg").unlink()
    bad(["--dataset", "crowdpose", "--gt", gt, "--results", after, "--before", before, "--images", images],
        capsys, tmp_path, gt, "images[1].file_name", "2.jpg")


def test_out_must_not_be_a_foreign_folder(files, tmp_path, capsys):
    gt, _, after, _ = files
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    code, _, err = run(["--dataset", "crowdpose", "--gt", gt, "--results", after, "--out", foreign], capsys)
    assert code == 2 and "--out" in err and (foreign / "keep.txt").read_text() == "mine"
    code, _, err = run(["--dataset", "crowdpose", "--gt", gt, "--results", after, "--out",
                        tmp_path / "no" / "such" / "folder"], capsys)
    assert code == 2 and "does not exist" in err


def test_tools_wrapper_and_console_script(files, tmp_path):
    gt, _, after, _ = files
    for command in ([sys.executable, str(REPO / "tools" / "analyze.py")],
                    [shutil.which("opec-analyze", path=str(Path(sys.executable).parent))]):
        if command[0] is None:
            pytest.fail("the opec-analyze console script is not installed in this environment")
        out = tmp_path / Path(command[-1]).stem
        proc = subprocess.run(command + ["--dataset", "crowdpose", "--gt", str(gt), "--results", str(after),
                                         "--out", str(out)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert (out / "index.html").is_file()
