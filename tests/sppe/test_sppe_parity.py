"""FastPose, flip test and decoding against the original's outputs (``sppe_vectors.pt``,
``sppe_features.pt``); every shape and setting is read from the files."""
from __future__ import annotations

import pytest
import torch

from opec.keypoints import COCO17
from opec.sppe import build_sppe, decode_heatmaps, flip_test, heatmap_peaks

HEATMAP_ATOL = 1e-3  # README tolerances: maps O(10) values
PIXEL_ATOL = 1e-3


def test_heatmaps_match_fast_inference(sppe_forward, sppe_vectors):
    heatmaps = sppe_forward["output"].heatmaps
    assert heatmaps.shape == sppe_vectors["hm_fast17"].shape
    torch.testing.assert_close(heatmaps, sppe_vectors["hm_fast17"], atol=HEATMAP_ATOL, rtol=0)


def test_all_output_channels_and_backbone(sppe_forward, sppe_vectors):
    assert sppe_forward["raw"].shape[1] == sppe_vectors["meta"]["nClasses"]
    torch.testing.assert_close(sppe_forward["raw"], sppe_vectors["hm_raw33"], atol=HEATMAP_ATOL, rtol=0)
    torch.testing.assert_close(sppe_forward["backbone"], sppe_vectors["backbone_out"], atol=HEATMAP_ATOL, rtol=0)


def test_stage_statistics(sppe_forward, sppe_vectors):
    expected = sppe_vectors["stage_stats_crop0"]
    assert set(sppe_forward["stats"]) == set(expected)
    for name, values in expected.items():
        assert sppe_forward["stats"][name] == pytest.approx(values, rel=1e-3, abs=1e-4), name


def test_feature_taps(sppe_forward, sppe_features):
    taps = sppe_forward["output"].features
    order = sppe_features["meta"]["order"]
    assert len(taps) == len(order)
    for tap, name in zip(taps, order):
        assert tap.shape == sppe_features[name].shape, name
        torch.testing.assert_close(tap, sppe_features[name], atol=HEATMAP_ATOL, rtol=0)
        assert tap.min() >= 0  # post-ReLU
    torch.testing.assert_close(sppe_forward["output"].heatmaps, sppe_features["hm_fast17"],
                               atol=HEATMAP_ATOL, rtol=0)


def test_fused_model_matches_the_original(sppe_vectors, sppe_features, sppe_state_dict):
    # the inference fusion (folded BN, oneDNN convs from prepacked weights, fused ReLU / residual add)
    # applied after loading the official key names
    model = build_sppe(sppe_state_dict, num_classes=sppe_vectors["meta"]["nClasses"], fuse=True)
    with torch.inference_mode():
        output = model(sppe_vectors["input"].contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(output.heatmaps, sppe_vectors["hm_fast17"], atol=HEATMAP_ATOL, rtol=0)
    for tap, name in zip(output.features, sppe_features["meta"]["order"]):
        torch.testing.assert_close(tap, sppe_features[name], atol=HEATMAP_ATOL, rtol=0)


@pytest.mark.slow
def test_flip_test_heatmaps(sppe_model, sppe_vectors):
    pairs = [(a - 1, b - 1) for a, b in sppe_vectors["meta"]["flipRef_1based"]]
    assert sorted(pairs) == sorted(COCO17.flip_pairs)
    with torch.inference_mode():
        flipped = flip_test(sppe_model, sppe_vectors["input"])
    torch.testing.assert_close(flipped, sppe_vectors["hm_flip17"], atol=HEATMAP_ATOL, rtol=0)


@pytest.mark.parametrize("kind, heatmaps", [("fast", "hm_fast17"), ("flip", "hm_flip17")])
def test_decode_reference_heatmaps(sppe_vectors, kind, heatmaps):
    expected = sppe_vectors["decode"][kind]
    maps = sppe_vectors[heatmaps]
    cells, scores = heatmap_peaks(maps)
    coords, scores_img = decode_heatmaps(maps, sppe_vectors["pt1"], sppe_vectors["pt2"],
                                         (sppe_vectors["meta"]["inputResH"], sppe_vectors["meta"]["inputResW"]))
    torch.testing.assert_close(cells, expected["preds_hm"], atol=0, rtol=0)
    torch.testing.assert_close(scores, expected["maxval"], atol=0, rtol=0)
    torch.testing.assert_close(scores_img, expected["maxval"], atol=0, rtol=0)
    torch.testing.assert_close(coords, expected["preds_img"], atol=PIXEL_ATOL, rtol=0)


def test_decode_synthetic_edge_cases(sppe_vectors):
    case = sppe_vectors["synthetic_decode"]
    meta = sppe_vectors["meta"]
    assert case["hms"].shape[2:] == (meta["outputResH"], meta["outputResW"])
    cells, scores = heatmap_peaks(case["hms"])
    coords, _ = decode_heatmaps(case["hms"], case["pt1"], case["pt2"], (meta["inputResH"], meta["inputResW"]))
    flat = cells.reshape(-1, 2)
    for index, description in enumerate(case["description"]):
        assert torch.equal(flat[index], case["preds_hm"].reshape(-1, 2)[index]), description
    torch.testing.assert_close(scores, case["maxval"], atol=0, rtol=0)
    torch.testing.assert_close(coords, case["preds_img"], atol=PIXEL_ATOL, rtol=0)
