"""A cheap stand-in for FastPose with the same output layout, for tests only.

Registered as the feature network ``ToyFeatureNet``; a test config selects it with
``model.feature_net=dict(type='ToyFeatureNet', scale=4, seed=0)`` and
``custom_imports = dict(imports=['tests.toy_feature_net'])`` (so that subprocesses register it too).
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from opec.registry import FEATURE_NETS


class ToyTaps(NamedTuple):
    heatmaps: torch.Tensor
    features: list[torch.Tensor]


@FEATURE_NETS.register_module()
class ToyFeatureNet(torch.nn.Module):
    """Average-pools the crop by ``16·scale``, ``8·scale`` and ``4·scale`` and projects each pooled
    map with a fixed random 1x1 convolution (+ ReLU) to 512, 256 and 128 channels: taps of shape
    (B,512,H/16s,W/16s), (B,256,H/8s,W/8s), (B,128,H/4s,W/4s); heatmaps (B,17,H/4s,W/4s) are the
    first 17 channels of the last tap. Deterministic for a given ``seed``.
    """

    def __init__(self, scale: int = 1, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.strides = (16 * scale, 8 * scale, 4 * scale)
        self.projections = torch.nn.ModuleList()
        for channels in (512, 256, 128):
            conv = torch.nn.Conv2d(3, channels, kernel_size=1)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator))
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * 0.1)
            self.projections.append(conv)

    def forward(self, inps: torch.Tensor) -> ToyTaps:
        feats = [torch.relu(proj(torch.nn.functional.avg_pool2d(inps, s)))
                 for proj, s in zip(self.projections, self.strides)]
        return ToyTaps(feats[2][:, :17], feats)
