"""Dense upsampling convolution (DUC) of FastPose: 3x3 conv (no bias), BN, ReLU, PixelShuffle(2).

(B, C_in, H, W) -> (B, C_out / 4, 2H, 2W). PixelShuffle(2): out[c, 2h+i, 2w+j] = in[4c + 2i + j, h, w].
"""
from __future__ import annotations

import torch
from torch import nn


class DUC(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, upscale_factor: int = 2):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pixel_shuffle(self.relu(self.bn(self.conv(x))))
