"""Building the refiner from the model configs."""
from __future__ import annotations

from pathlib import Path

import pytest

from opec.config import load_config
from opec.refiner import OPECNet, build_refiner
from opec.refiner.point_heads import FCPointHead, SoftArgmax2d

MODEL_CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "_base_" / "models"


@pytest.mark.parametrize("name, head", [("opec_gcn.py", SoftArgmax2d), ("opec_gcn_fc.py", FCPointHead)])
def test_model_configs_build(name, head):
    cfg = load_config(MODEL_CONFIGS / name)
    assert set(cfg.keys()) >= {"model"}
    model = build_refiner(cfg.model)
    assert isinstance(model, OPECNet) and isinstance(model.point_head, head)
    assert model.num_joints == cfg.model.num_joints


def test_config_keys_are_all_read():
    # Every key of the model configs is a constructor argument (no keys nobody reads).
    import inspect

    accepted = set(inspect.signature(OPECNet).parameters)
    for name in ("opec_gcn.py", "opec_gcn_fc.py"):
        cfg = load_config(MODEL_CONFIGS / name)
        assert set(cfg.model) - {"type"} <= accepted


def test_bad_configs():
    with pytest.raises(ValueError, match="unknown type 'SemGCN_Attention'"):
        build_refiner(dict(type="SemGCN_Attention"))
    with pytest.raises(ValueError, match="'type' field"):
        build_refiner(dict(point_head="fc"))
    with pytest.raises(ValueError, match="OPECNet"):
        build_refiner(dict(type="OPECNet", hidden=3))
