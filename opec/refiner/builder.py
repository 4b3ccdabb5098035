"""Build a refiner from a config dict such as ``dict(type='OPECNet', point_head='fc')``."""
from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from opec.refiner.opec_net import OPECNet
from opec.registry import MODELS

MODELS.register_module(module=OPECNet)


def build_refiner(model_cfg: Mapping) -> nn.Module:
    """Instantiate ``MODELS[model_cfg['type']](**rest)``; one-line ValueError for a bad config."""
    if not isinstance(model_cfg, Mapping) or "type" not in model_cfg:
        raise ValueError(f"model config must be a dict with a 'type' field, got {model_cfg!r}")
    model_type = model_cfg["type"]
    if MODELS.get(model_type) is None:
        raise ValueError(f"model config: unknown type {model_type!r}; registered: {sorted(MODELS.module_dict)}")
    try:
        return MODELS.build(dict(model_cfg))
    except TypeError as exc:  # unknown or missing keyword arguments
        raise ValueError(f"model config for {model_type!r}: {exc}") from exc
