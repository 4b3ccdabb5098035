"""The analysis' AP path (the evaluator's public match / accumulate, fed with the analysis' own
OKS of all pairs, its State and its slices) gives exactly the evaluator's AP (itself checked against
the reference evaluators in tests/evaluation), on random crowded scenes with crowd regions,
keypoint-less GTs, tied scores and more than 20 detections per image."""
from __future__ import annotations

import numpy as np
import pytest
from tests.analysis.analysis_builders import box, person, result, write_gt

from opec.analysis import Scene, Truth
from opec.analysis.impact import Slices, State, evaluate_slices, nearest_gt
from opec.evaluation import KeypointEvaluator


def nothing_fixed(scene: Scene, images: dict | None = None) -> dict:
    """{slice: {AP, AP50, AP75}} of the results as they are, on 'all' and the image slices."""
    return evaluate_slices(scene, State.of(scene), Slices(images or {}, {}), nearest_gt(scene))


def random_scene(tmp_path, seed: int):
    rng = np.random.default_rng(seed)
    images = {i: float(rng.choice([0.1, 0.5, 0.9])) for i in range(1, 7)}
    persons, crowd, results = [], [], []
    for image_id in images:
        for _ in range(rng.integers(0, 6)):
            x, y = rng.uniform(0, 600), rng.uniform(0, 100)
            joints = person(x, y)
            joints[rng.random(14) < 0.2, 2] = 0
            if rng.random() < 0.1:
                joints[:, 2] = 0  # keypoint-less: an ignore region
            persons.append((image_id, joints, box(x, y)))
            for _ in range(rng.integers(0, 4)):  # detections near the person, some poor
                noise = rng.normal(0, rng.choice([2, 10, 30]), (14, 2))
                results.append(result(image_id, joints[:, :2] + noise, float(rng.choice([0.3, 0.5, 0.7, rng.random()]))))
        if rng.random() < 0.3:
            crowd.append((image_id, [float(rng.uniform(0, 500)), 0.0, 200.0, 300.0]))
        for _ in range(rng.integers(0, 3)):  # background
            results.append(result(image_id, person(rng.uniform(0, 900), 0)[:, :2], float(rng.random())))
    for _ in range(25):  # image 1: more than 20 detections
        results.append(result(1, person(rng.uniform(0, 600), 0)[:, :2], 0.4))
    return write_gt(tmp_path / f"gt{seed}.json", images, persons, crowd), results


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("protocol", ["official", "opec12"])
def test_nothing_fixed_equals_the_evaluator_exactly(tmp_path, seed, protocol):
    gt, results = random_scene(tmp_path, seed)
    expected = KeypointEvaluator(gt, "crowdpose", protocol).evaluate(results)
    truth = Truth.read(gt, "crowdpose", protocol)
    scene = Scene.read(truth, results)
    levels = {level: truth.gt.image_ids[(truth.gt.crowd_index >= low) & (truth.gt.crowd_index < high)]
              for level, (low, high) in {"AP_easy": (0, 0.2), "AP_medium": (0.2, 0.8), "AP_hard": (0.8, 2)}.items()}
    metrics = nothing_fixed(scene, levels)
    assert metrics["all"] == {key: expected[key] for key in ("AP", "AP50", "AP75")}
    for level in levels:
        assert metrics[level]["AP"] == expected[level]


def test_no_results_gives_zero_ap(tmp_path):
    gt = write_gt(tmp_path / "gt.json", {1: 0.1}, [(1, person(0), box(0))])
    scene = Scene.read(Truth.read(gt, "crowdpose"), [])
    assert nothing_fixed(scene)["all"]["AP"] == 0.0
