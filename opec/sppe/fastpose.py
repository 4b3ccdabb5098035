"""AlphaPose's FastPose SPPE: SE-ResNet-101 + PixelShuffle + two DUC blocks + 3x3 heatmap conv.

Input: (B, 3, H, W) crops (320x256 by default, RGB minus the AlphaPose mean, see opec.data.crop).
Output :class:`SPPEOutput`: ``heatmaps`` (B, 17, H/4, W/4) -- the first 17 of the 33 ``conv_out``
channels, COCO-17 order -- and the three feature taps OPEC-Net's refiner samples (all post-ReLU):
tap0 (B, 512, H/16, W/16) after ``suffle1``, tap1 (B, 256, H/8, W/8) after ``duc1``,
tap2 (B, 128, H/4, W/4) after ``duc2``. Module names follow ``duc_se.pth`` (``suffle1`` sic).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from opec.keypoints import COCO17
from opec.sppe.duc import DUC
from opec.sppe.se_resnet import SEResNet


class SPPEOutput(NamedTuple):
    heatmaps: torch.Tensor
    features: list[torch.Tensor]


class FastPose(nn.Module):
    """FastPose with ``num_classes`` output maps (33 in duc_se.pth; only the first 17 are joints)."""

    def __init__(self, num_classes: int = 33):
        super().__init__()
        if num_classes < COCO17.num_joints:
            raise ValueError(f"num_classes: expected >= {COCO17.num_joints}, got {num_classes}")
        self.preact = SEResNet()
        self.suffle1 = nn.PixelShuffle(2)
        self.duc1 = DUC(512, 1024)
        self.duc2 = DUC(256, 512)
        self.conv_out = nn.Conv2d(128, num_classes, 3, padding=1)

    def forward(self, x: torch.Tensor) -> SPPEOutput:
        tap0 = self.suffle1(self.preact(x))
        tap1 = self.duc1(tap0)
        tap2 = self.duc2(tap1)
        heatmaps = self.conv_out(tap2)[:, :COCO17.num_joints]
        return SPPEOutput(heatmaps, [tap0, tap1, tap2])

    def expand_taps(self, taps: list[torch.Tensor]) -> list[torch.Tensor]:
        """[tap0] -> [tap0, tap1, tap2] through the DUC layers (6 of the 32 GFLOP per person): lets
        the feature cache store tap0 only (``feature_cache.taps='first'``, 1/7 of the values)."""
        tap1 = self.duc1(taps[0])
        return [taps[0], tap1, self.duc2(tap1)]


def flip_test(model: FastPose, x: torch.Tensor) -> torch.Tensor:
    """AlphaPose's ``InferenNet`` flip test: (hm(x) + flip_W(swap_LR(hm(flip_W(x))))) / 2.

    x (B, 3, H, W) -> heatmaps (B, 17, H/4, W/4). Both passes run as one batch of 2B. The stock
    AlphaPose demo and OPEC-Net never use it (``InferenNet_fast``).
    """
    heatmaps = model(torch.cat([x, x.flip(3)])).heatmaps
    plain, mirrored = heatmaps.split(x.shape[0])
    mirrored = mirrored[:, COCO17.flip_index()].flip(3)  # swap left/right, then flip back
    return (plain + mirrored) / 2
