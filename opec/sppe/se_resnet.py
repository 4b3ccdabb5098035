"""SE-ResNet-101 backbone of AlphaPose's FastPose (the ``preact`` module of ``duc_se.pth``).

Differences from the common SE-ResNet (all in the original and in the checkpoint):
squeeze-and-excitation only in the first block of each stage (the blocks with a ``downsample``),
reduction 1 (Linear C -> C), applied to the bn3 output before the residual add; the stride sits on
the 3x3 ``conv2``. Input (B, 3, H, W) -> (B, 2048, H/32, W/32).
"""
from __future__ import annotations

import torch
from torch import nn

EXPANSION = 4
STAGE_BLOCKS = (3, 4, 23, 3)  # ResNet-101
STAGE_PLANES = (64, 128, 256, 512)


class SqueezeExcitation(nn.Module):
    """Channel gate: x * sigmoid(W2 relu(W1 avgpool(x) + b1) + b2), W1, W2 of size C x C.

    Keys ``fc.0``, ``fc.2`` (the original's ``nn.Sequential``).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(channels, channels), nn.ReLU(inplace=True),
                                nn.Linear(channels, channels), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc(x.mean(dim=(2, 3)))
        return x * gate[:, :, None, None]


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride) -> 1x1 (x4) bottleneck; SE and a projection shortcut when ``first``."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, first: bool = False):
        super().__init__()
        width = planes * EXPANSION
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, width, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.se = SqueezeExcitation(width) if first else None
        self.downsample = nn.Sequential(nn.Conv2d(inplanes, width, 1, stride=stride, bias=False),
                                        nn.BatchNorm2d(width)) if first else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.se is not None:
            out = self.se(out)
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


class SEResNet(nn.Module):
    """Stem (7x7/2 conv, BN, ReLU, 3x3/2 max-pool) and four bottleneck stages (3, 4, 23, 3 blocks)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=0.01)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        inplanes = 64
        for index, (blocks, planes) in enumerate(zip(STAGE_BLOCKS, STAGE_PLANES)):
            stride = 1 if index == 0 else 2
            layers = [Bottleneck(inplanes, planes, stride, first=True)]
            inplanes = planes * EXPANSION
            layers += [Bottleneck(inplanes, planes) for _ in range(blocks - 1)]
            setattr(self, f"layer{index + 1}", nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))
