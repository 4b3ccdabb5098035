"""Building the model and the refiner from the model configs."""
from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from opec.config import load_config
from opec.refiner import OPECNet, TopDownRefiner, build_model, build_refiner
from opec.refiner.point_heads import FCPointHead, SoftArgmax2d

MODEL_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "_base_" / "models"


@pytest.mark.parametrize("name, head", [("opec_gcn.py", SoftArgmax2d), ("opec_gcn_fc.py", FCPointHead)])
def test_model_configs_build(name, head):
    cfg = load_config(MODEL_CONFIGS / name)
    assert set(cfg.keys()) >= {"model"}
    refiner = build_refiner(cfg.model.refiner)
    assert isinstance(refiner, OPECNet) and isinstance(refiner.point_head, head)
    assert refiner.num_joints == cfg.model.refiner.num_joints
    assert cfg.model.type == "TopDownRefiner" and cfg.model.feature_net.type == "FastPose"


def test_config_keys_are_all_read():
    # Every key of the model configs is a constructor argument (no keys nobody reads).
    refiner_args = set(inspect.signature(OPECNet).parameters)
    model_args = set(inspect.signature(TopDownRefiner).parameters)
    for name in ("opec_gcn.py", "opec_gcn_fc.py"):
        cfg = load_config(MODEL_CONFIGS / name)
        assert set(cfg.model) - {"type"} <= model_args
        assert set(cfg.model.refiner) - {"type"} <= refiner_args


def test_bad_configs():
    with pytest.raises(ValueError, match="model.refiner.type: unknown refiner 'SemGCN_Attention'; registered: OPECNet"):
        build_refiner(dict(type="SemGCN_Attention"))
    with pytest.raises(ValueError, match="'type' field"):
        build_refiner(dict(point_head="fc"))
    with pytest.raises(ValueError, match="OPECNet"):
        build_refiner(dict(type="OPECNet", hidden=3))
    with pytest.raises(ValueError, match="model.feature_net.type: unknown feature net 'HRNet'.*FastPose"):
        build_model(dict(type="TopDownRefiner", feature_net=dict(type="HRNet"), refiner=dict(type="OPECNet")))
