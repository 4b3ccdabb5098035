"""Training logs the replaced joints' error-category rates (group ``occlusion``), and
``tools/test.py --save-predictions`` writes results files that ``opec-analyze`` reads, with the
"nothing fixed" AP equal to the AP test.py printed."""
import json

import numpy as np
import torch

from opec.cli.analyze import main as analyze
from opec.analysis.transitions import STATES
from opec.config import load_config
from opec.engine.trainer import Trainer


def test_occlusion_rates_logged_and_predictions_analysable(tiny_data, tmp_path, make_config, tool, capsys):
    cfg = make_config(tmp_path, tiny_data)
    torch.set_num_threads(1)
    history = Trainer(load_config(cfg), work_dir=tmp_path / "w", device="cpu", epochs=1).fit()
    rows = [json.loads(line) for line in (tmp_path / "w" / "log.jsonl").read_text().splitlines()]
    occlusion = [r for r in rows if r["group"] == "occlusion"]
    assert [r["step"] for r in occlusion] == [0]
    values = occlusion[0]["values"]
    assert set(values) == {f"{when}/{s}" for when in ("before", "after") for s in STATES}
    for when in ("before", "after"):
        assert np.isclose(sum(values[f"{when}/{s}"] for s in STATES), 1.0)
    # the demo's hidden joints are pulled off their person: few replaced joints start out good
    assert values["before/good"] < 0.5

    out = tmp_path / "predictions"
    capsys.readouterr()
    assert tool("test").main([str(cfg), "--checkpoint", str(tmp_path / "w" / "0.pth"), "--device", "cpu",
                              "--save-predictions", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["0_best_match.json", "0_plain.json",
                                                     "initial_best_match.json", "initial_plain.json"]
    gt = tiny_data / "test_process_datasets" / "crowdpose_test.json"
    report = tmp_path / "report"
    assert analyze(["--dataset", "crowdpose", "--protocol", "opec12", "--gt", str(gt), "--results",
                    str(out / "0_plain.json"), "--before", str(out / "initial_plain.json"),
                    "--images", str(tiny_data / "images"), "--out", str(report)]) == 0
    summary = json.loads((report / "summary.json").read_text())
    assert summary["files"]["results"]["ap_impact"]["original"]["all"]["AP"] == history[0][1]
    rates = summary["transitions"]["replaced"]
    assert rates["rates_before"] == {s: values[f"before/{s}"] for s in STATES}
    assert rates["rates_after"] == {s: values[f"after/{s}"] for s in STATES}
