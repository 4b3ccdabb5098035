"""``SlowToyFeatureNet``: ``ToyFeatureNet`` that sleeps ``delay`` seconds per forward, so that a test
can kill a run while the feature cache is being built. For tests only (a config imports it with
``custom_imports = dict(imports=['tests.toy_feature_net', 'tests.engine.slow_feature_net'])``).
"""
from __future__ import annotations

import time

from opec.registry import FEATURE_NETS
from tests.toy_feature_net import ToyFeatureNet


@FEATURE_NETS.register_module()
class SlowToyFeatureNet(ToyFeatureNet):
    """:class:`ToyFeatureNet` (same taps for the same ``scale`` and ``seed``), ``delay`` s slower per call."""

    def __init__(self, scale: int = 1, seed: int = 0, delay: float = 0.2):
        super().__init__(scale=scale, seed=seed)
        self.delay = delay

    def forward(self, inps):
        time.sleep(self.delay)
        return super().forward(inps)
