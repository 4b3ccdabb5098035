"""On the CrowdPose val annotations with a reference results file (and on every evaluation
reference case), the report's "nothing fixed" column is exactly the evaluator's AP, and no fix
lowers any AP (skips without ../shared, fails under CI=true)."""
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


def test_every_reference_case_reproduces_the_evaluator(eval_cases_dir):
    """The analysis' AP path (the evaluator's match / accumulate with the analysis' OKS of all
    pairs) on every evaluation reference case (CrowdPose, COCO, OCHuman; both protocols): AP,
    AP50, AP75 identical to the evaluator's."""
    import json

    from opec.analysis.impact import Slices, State, evaluate_slices, nearest_gt

    cases = json.loads((eval_cases_dir / "cases.json").read_text())["cases"]
    root = eval_cases_dir.parent
    assert len(cases) >= 4
    for case in cases:
        for protocol in ("official", "opec12"):
            gt, results = root / case["gt"], root / case["results"]
            expected = KeypointEvaluator(gt, case["dataset"], protocol, easy_medium_hard=False).evaluate(results)
            truth = Truth.read(gt, case["dataset"], protocol)
            scene = Scene.read(truth, results)
            got = evaluate_slices(scene, State.of(scene), Slices({}, {}), nearest_gt(scene))["all"]
            assert got == {key: expected[key] for key in got}, (case["name"], protocol)


def test_incremental_steps_equal_matching_from_scratch(fixtures_dir, eval_cases_dir):
    """Each AP-impact step re-matches only the images its change touches; on the CrowdPose val
    annotations every step's numbers equal a full matching of that step's state, and so does the
    carried-over matching itself (status of every kept detection)."""
    from dataclasses import replace

    import numpy as np

    from opec.analysis.impact import (FIX_ORDER, MATCH_OKS, Slices, State, ap_impact, evaluate_slices, fix_joints,
                                      match_slices, max_oks_per_detection, max_oks_per_gt, nearest_gt,
                                      optimal_scores)
    from opec.analysis.slices import crowd_levels, overlap_levels
    from opec.analysis.taxonomy import classify

    truth = Truth.read(fixtures_dir / "crowdpose_val" / "crowdpose_val.json", "crowdpose")
    scene = Scene.read(truth, eval_cases_dir / "crowdpose_preds_A.json")
    taxonomy = classify(scene)
    slices = Slices(crowd_levels(truth), {f"overlap {n}": m for n, m in overlap_levels(truth).items()})
    nearest = nearest_gt(scene)
    impact = ap_impact(scene, taxonomy, slices)
    state = State.of(scene)
    previous = match_slices(scene, state, slices, nearest)
    states = []
    for category in FIX_ORDER:
        state = fix_joints(scene, state, taxonomy, category)
        states.append((category, state))
    state = replace(state, scores=optimal_scores(scene, state))
    states.append(("rescore", state))
    state = replace(state, removed=state.removed | (max_oks_per_detection(scene, state) < MATCH_OKS))
    states.append(("background_fp", state))
    state = replace(state, gt_ignore=state.gt_ignore | (max_oks_per_gt(scene, state) < MATCH_OKS))
    states.append(("false_negatives", state))
    for step, state in states:
        assert impact[step] == evaluate_slices(scene, state, slices, nearest), step
        carried = match_slices(scene, state, slices, nearest, previous=previous)
        fresh = match_slices(scene, state, slices, nearest)
        assert np.array_equal(carried.kept, fresh.kept), step
        assert np.array_equal(carried.status[:, :, carried.kept], fresh.status[:, :, fresh.kept]), step
        previous = carried
