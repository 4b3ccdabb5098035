"""Every case of ``cases.json`` (OPEC_EVAL_CASES_DIR, default ../shared/eval) reproduced.

official: within 1e-9 (AP_easy/medium/hard equal to the official value after rounding to 4
decimals, like the CrowdPose API; within 1e-9 of the unrounded values where the case has them);
opec12: within 1e-9. Paths in cases.json are relative to the case folder's parent.
"""
from __future__ import annotations

import copy
import json

import pytest

from opec.evaluation import KeypointEvaluator

CROWD_KEYS = ("AP_easy", "AP_medium", "AP_hard")
TOL = 1e-9


def _cases(eval_cases_dir):
    cases = json.loads((eval_cases_dir / "cases.json").read_text())["cases"]
    assert cases, "cases.json holds no case"
    return cases


def _paths(eval_cases_dir, case):
    return eval_cases_dir.parent / case["gt"], eval_cases_dir.parent / case["results"]


def _compare(case, protocol, metrics, per_threshold) -> list[str]:
    expected = case[protocol]
    problems = []
    for key, value in expected.items():
        if key == "AP_per_oks_threshold":
            for oks, ap in value.items():
                if abs(per_threshold[oks] - ap) > TOL:
                    problems.append(f"AP@{oks}: {per_threshold[oks]!r} != {ap!r}")
        elif key in CROWD_KEYS:
            if round(metrics[key], 4) != value:
                problems.append(f"{key}: {metrics[key]!r} rounds to {round(metrics[key], 4)}, official {value}")
        elif abs(metrics[key] - value) > TOL:
            problems.append(f"{key}: {metrics[key]!r} != {value!r}")
    if protocol == "official" and "AP_easy_medium_hard_unrounded" in case:
        for key, value in zip(CROWD_KEYS, case["AP_easy_medium_hard_unrounded"]):
            if abs(metrics[key] - value) > TOL:
                problems.append(f"{key} (unrounded): {metrics[key]!r} != {value!r}")
    return problems


@pytest.mark.parametrize("protocol", ["official", "opec12"])
def test_every_case_reproduced(eval_cases_dir, protocol):
    checked = 0
    failures = []
    for case in _cases(eval_cases_dir):
        if protocol not in case:
            continue
        gt, results = _paths(eval_cases_dir, case)
        evaluator = KeypointEvaluator(gt, case["dataset"], protocol)
        metrics, per_threshold = evaluator.evaluate_detailed(results)
        failures += [f"{case['name']} {protocol}: {p}" for p in _compare(case, protocol, metrics, per_threshold)]
        checked += 1
    assert not failures, "\n".join(failures)
    if protocol == "official":
        assert checked == len(_cases(eval_cases_dir))


def test_upstream_style_results_give_the_same_numbers(eval_cases_dir):
    """String image ids "N.jpg" and an extra bbox key (upstream OPEC results) change nothing for
    crowdpose cases (only the area-range APs, which crowdpose does not report, use the box)."""
    cases = [c for c in _cases(eval_cases_dir) if c["dataset"] == "crowdpose"]
    if not cases:
        pytest.skip("no crowdpose case in this case folder")
    case = min(cases, key=lambda c: c["n_results"])
    gt, results_path = _paths(eval_cases_dir, case)
    results = json.loads(results_path.read_text())
    upstream = [dict(r, image_id=f"{r['image_id']}.jpg", bbox=[0.0, 0.0, 10.0, 10.0]) for r in results]
    before = copy.deepcopy(upstream)
    evaluator = KeypointEvaluator(gt, "crowdpose")
    metrics, per_threshold = evaluator.evaluate_detailed(upstream)
    assert upstream == before, "evaluate() modified its input"
    assert not _compare(case, "official", metrics, per_threshold)
    # The GT is loaded once; a second evaluation on the same evaluator gives the same numbers.
    assert evaluator.evaluate(results_path) == metrics
