"""On the CrowdPose val annotations with a reference results file, the report's "nothing fixed"
column is exactly the evaluator's AP, and no fix lowers any AP (skips without ../shared, fails
under CI=true)."""
from __future__ import annotations

import pytest

from opec.analysis import Scene, Truth, build_summary
from opec.evaluation import KeypointEvaluator


@pytest.mark.parametrize("protocol", ["official", "opec12"])
def test_nothing_fixed_column_is_the_evaluators_ap(fixtures_dir, eval_cases_dir, protocol):
    gt = fixtures_dir / "crowdpose_val" / "crowdpose_val.json"
    results = eval_cases_dir / "crowdpose_preds_A.json"
    expected = KeypointEvaluator(gt, "crowdpose", protocol).evaluate(results)
    truth = Truth.read(gt, "crowdpose", protocol)
    summary = build_summary(truth, Scene.read(truth, results))
    impact = summary["files"]["results"]["ap_impact"]
    original = impact["original"]
    assert {key: original["all"][key] for key in ("AP", "AP50", "AP75")} == \
        {key: expected[key] for key in ("AP", "AP50", "AP75")}
    assert [original[level]["AP"] for level in ("easy", "medium", "hard")] == \
        [expected["AP_easy"], expected["AP_medium"], expected["AP_hard"]]
    for step, slices in impact.items():
        for name, metrics in slices.items():
            for key in ("AP", "AP50", "AP75"):
                assert metrics[key] >= original[name][key], (step, name, key)
    assert summary["files"]["results"]["taxonomy"]["overall"]["joints"] > 0
