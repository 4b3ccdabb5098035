"""Shared SPPE fixtures: the reference vectors, the generated weights and ONE FastPose forward.

Weights are drawn by :mod:`tests.sppe.synthetic_weights` (the vectors' documented rule) for the key
list of ``sppe_keys.json`` and the seed of ``sppe_vectors.pt``. The full
forward (about 100 GFLOP for the three reference crops) runs once per session.
"""
from __future__ import annotations

import json

import pytest
import torch

from opec.sppe import FastPose, load_sppe_weights
from tests.sppe.synthetic_weights import synthetic_state_dict


def _load(path):
    return torch.load(path, weights_only=True)


@pytest.fixture(scope="session")
def sppe_vectors(vectors_dir):
    return _load(vectors_dir / "sppe_vectors.pt")


@pytest.fixture(scope="session")
def sppe_features(vectors_dir):
    return _load(vectors_dir / "sppe_features.pt")


@pytest.fixture(scope="session")
def sppe_state_dict(vectors_dir, sppe_vectors):
    keys = json.loads((vectors_dir / "sppe_keys.json").read_text())["keys"]
    return synthetic_state_dict(keys, seed=sppe_vectors["meta"]["seed"])


@pytest.fixture(scope="session")
def sppe_model(sppe_vectors, sppe_state_dict):
    torch.manual_seed(0)
    model = FastPose(num_classes=sppe_vectors["meta"]["nClasses"])
    return load_sppe_weights(model, sppe_state_dict).eval()


@pytest.fixture(scope="session")
def sppe_forward(sppe_model, sppe_vectors):
    """One forward of the reference inputs; also records the backbone output and the per-stage
    statistics of crop 0 (mean, std, absmax) named like ``stage_stats_crop0``."""
    captured = {}

    def stats(name):
        def hook(_module, _inputs, output):
            first = output[0].double()
            captured[name] = [first.mean().item(), first.std().item(), first.abs().max().item()]
        return hook

    preact = sppe_model.preact
    handles = [preact.maxpool.register_forward_hook(stats("preact.stem_after_maxpool")),
               preact.register_forward_hook(lambda _m, _i, out: captured.__setitem__("backbone", out))]
    for layer in range(1, 5):
        for index, block in enumerate(getattr(preact, f"layer{layer}")):
            handles.append(block.register_forward_hook(stats(f"preact.layer{layer}.{index}")))
    try:
        with torch.inference_mode():
            output = sppe_model(sppe_vectors["input"])
            raw = sppe_model.conv_out(output.features[2])
    finally:
        for handle in handles:
            handle.remove()
    return {"output": output, "raw": raw, "backbone": captured.pop("backbone"), "stats": captured}
