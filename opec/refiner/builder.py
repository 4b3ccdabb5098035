"""Build a refiner from a config dict such as ``dict(type='OPECNet', point_head='fc')``."""
from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from opec.registry import REFINERS, build


def build_refiner(refiner_cfg: Mapping) -> nn.Module:
    """The ``REFINERS`` part named by ``refiner_cfg['type']``; one-line ValueError for a bad config."""
    return build(REFINERS, refiner_cfg, "model.refiner")
