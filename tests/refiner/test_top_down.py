"""The top-down model: a frozen feature network stays out of parameters and checkpoints but moves
with the module; a fine-tuned one is a submodule under the original's key path."""
from __future__ import annotations

import torch

from opec.refiner import build_model
from tests.toy_feature_net import ToyFeatureNet

REFINER = dict(type="OPECNet", point_head="integral")
TOY = dict(type="ToyFeatureNet", scale=4, seed=0)


def test_frozen_feature_net_is_not_a_parameter_and_follows_moves():
    model = build_model(dict(type="TopDownRefiner", feature_net=TOY, refiner=REFINER, fine_tune=False))
    refiner_ids = {id(p) for p in model.refiner.parameters()}
    assert {id(p) for p in model.parameters()} == refiner_ids
    assert set(model.checkpoint_state()) == set(model.refiner.state_dict())  # the original's key names
    model.double()
    assert next(model.feature_net.parameters()).dtype == torch.float64
    model.train()
    assert model.refiner.training and not model.feature_net.training
    assert not any(p.requires_grad for p in model.feature_net.parameters())


def test_fine_tuned_feature_net_trains_inside_the_model():
    model = build_model(dict(type="TopDownRefiner", feature_net=TOY, refiner=REFINER, fine_tune=True))
    keys = model.checkpoint_state()
    assert any(k.startswith("generator.model.pyranet.projections.") for k in keys)
    assert any(k.startswith("refiner.") for k in keys)
    crops = torch.randn(2, 3, 320, 256)
    out = model(torch.zeros(2, 12, 3), crops)
    out.stages[-1].sum().backward()
    assert model.feature_net.projections[0].weight.grad is not None


def test_fine_tuned_forward_equals_refiner_on_the_nets_taps():
    model = build_model(dict(type="TopDownRefiner", feature_net=TOY, refiner=REFINER, fine_tune=True)).eval()
    crops, joints = torch.randn(2, 3, 320, 256), torch.rand(2, 12, 3)
    with torch.no_grad():
        direct = model.refiner(joints, list(ToyFeatureNet(scale=4, seed=0)(crops).features))
        through = model(joints, crops)
    torch.testing.assert_close(through.stages[-1], direct.stages[-1])
