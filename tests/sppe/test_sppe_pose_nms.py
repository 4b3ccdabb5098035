"""Parametric pose NMS and the results JSON: the original's output (``pose_nms_vectors.pt``,
``pose_nms_alphapose-results.json``) and hand-checkable cases."""
from __future__ import annotations

import importlib
import json

import pytest
import torch

from opec.sppe import pose_nms, write_alphapose_results

nms_module = importlib.import_module("opec.sppe.pose_nms")


@pytest.fixture(scope="module")
def nms_vectors(vectors_dir):
    return torch.load(vectors_dir / "pose_nms_vectors.pt", weights_only=True)


def test_constants_match_the_reference(nms_vectors):
    constants = nms_vectors["meta"]["constants"]
    module = nms_module
    assert constants == {"delta1": module.DELTA1, "mu": module.MU, "delta2": module.DELTA2,
                         "gamma": module.GAMMA, "scoreThreds": module.SCORE_THRESHOLD,
                         "matchThreds": module.MATCH_THRESHOLD, "areaThres": module.AREA_THRESHOLD,
                         "alpha": module.ALPHA}


def test_pose_nms_matches_reference(nms_vectors):
    inputs = nms_vectors["inputs"]
    before = {key: value.clone() for key, value in inputs.items() if torch.is_tensor(value)}
    results = pose_nms(inputs["bboxes"], inputs["bbox_scores"], inputs["pose_preds"], inputs["pose_scores"])
    for key, value in before.items():
        assert torch.equal(inputs[key], value), f"input {key} was modified"
    assert len(results) == len(nms_vectors["results"])
    for got, expected in zip(results, nms_vectors["results"]):
        torch.testing.assert_close(got["keypoints"], expected["keypoints"], atol=1e-4, rtol=0)
        torch.testing.assert_close(got["kp_score"], expected["kp_score"], atol=1e-6, rtol=0)
        torch.testing.assert_close(got["proposal_score"], expected["proposal_score"], atol=1e-5, rtol=0)
        assert torch.equal(got["bbox"], inputs["bboxes"][got["index"]])


def test_results_json_matches_reference(nms_vectors, vectors_dir, tmp_path):
    inputs = nms_vectors["inputs"]
    results = pose_nms(inputs["bboxes"], inputs["bbox_scores"], inputs["pose_preds"], inputs["pose_scores"])
    path = tmp_path / "alphapose-results.json"
    write_alphapose_results(path, {nms_vectors["meta"]["imgname"]: results, "empty.jpg": []})
    got = json.loads(path.read_text())
    expected = json.loads((vectors_dir / "pose_nms_alphapose-results.json").read_text())
    assert [list(entry) for entry in got] == [list(entry) for entry in expected]
    for g, e in zip(got, expected):
        assert g["image_id"] == e["image_id"] and g["category_id"] == e["category_id"] == 1
        assert g["keypoints"] == pytest.approx(e["keypoints"], abs=1e-4)
        assert g["score"] == pytest.approx(e["score"], abs=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["alphapose-results.json"]  # no temp file left


def _pose(x0, y0, joints=17):
    return torch.stack([x0 + 10.0 * torch.arange(joints), y0 + 5.0 * torch.arange(joints)], dim=1)


def test_duplicates_merge_and_far_poses_survive():
    coords = torch.stack([_pose(0, 0), _pose(0, 0), _pose(500, 500)])
    scores = torch.tensor([0.9, 0.5, 0.8])[:, None, None].expand(3, 17, 1)
    boxes = torch.tensor([[0.0, 0.0, 160.0, 80.0], [0.0, 0.0, 160.0, 80.0], [500.0, 500.0, 660.0, 580.0]])
    results = pose_nms(boxes, torch.tensor([[0.6], [0.5], [0.7]]), coords, scores)
    assert [r["index"] for r in results] == [0, 2]  # descending mean joint score
    torch.testing.assert_close(results[0]["keypoints"], _pose(0, 0) - 0.3)
    # merged score = (0.9^2 + 0.5^2) / (0.9 + 0.5)
    torch.testing.assert_close(results[0]["kp_score"], torch.full((17, 1), (0.81 + 0.25) / 1.4))
    merged = (0.81 + 0.25) / 1.4
    torch.testing.assert_close(results[0]["proposal_score"], torch.tensor([merged + 0.6 + 1.25 * merged]))


def test_low_scores_and_zero_scores():
    coords = torch.stack([_pose(0, 0), _pose(400, 0)])
    scores = torch.full((2, 17, 1), 0.2)
    scores[1, 0, 0] = 0.0  # becomes 1e-5
    scores[1, 1:, 0] = 0.9
    boxes = torch.tensor([[0.0, 0.0, 160.0, 80.0], [400.0, 0.0, 560.0, 80.0]])
    results = pose_nms(boxes, torch.ones(2, 1), coords, scores)
    assert [r["index"] for r in results] == [1]  # the first has every joint score < 0.3
    assert results[0]["kp_score"][0, 0].item() == pytest.approx(nms_module.ZERO_SCORE)
    assert pose_nms(torch.zeros(0, 4), torch.zeros(0, 1), torch.zeros(0, 17, 2), torch.zeros(0, 17, 1)) == []
