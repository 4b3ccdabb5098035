"""Cascaded feature adaptation (the original's ``HM_Extrect``): SPPE taps → adapted maps + heatmaps.

The three FastPose feature taps (strides 16, 8, 4) are decoded coarse to fine. At each finer level
the up-sampled coarse map is gated channel-wise by a squeeze-excitation computed from both it and
the tap, and the tap is added ungated. Every level's output map is kept: the GCN samples them at
the predicted joint positions. The last map also gives one heatmap per joint.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F


class StrideTwoUpsampling(nn.ConvTranspose2d):
    """The decoder's 2×2, stride-2 transposed convolution (same parameters and state-dict keys).

    Each input pixel only feeds its own 2×2 output block, so the layer is a 1×1 convolution to
    (dy, dx, C_out) channels whose pixel vectors are then moved to their output positions. On
    channels-last tensors that move copies whole C_out-vectors both ways, and the result equals
    ``conv_transpose2d`` to the last bit. Why: oneDNN's transposed-convolution backward runs at a
    third of its forward speed on CPU; this form trains 1.5x faster per layer.
    (B, C_in, H, W) -> (B, C_out, 2H, 2W), channels-last.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        c = self.out_channels
        weight = self.weight.permute(2, 3, 1, 0).reshape(4 * c, self.in_channels, 1, 1)  # (dy, dx, c)
        blocks = F.conv2d(x.contiguous(memory_format=torch.channels_last), weight, self.bias.repeat(4))
        pixels = blocks.permute(0, 2, 3, 1).reshape(b, h, w, 2, 2, c)  # a view: (B, H, W, dy, dx, C)
        return pixels.transpose(2, 3).reshape(b, 2 * h, 2 * w, c).permute(0, 3, 1, 2)


class ChannelGatedFusion(nn.Module):
    """x1·s + x2 with s = sigmoid(excite(ReLU(squeeze(GAP(concat(x1, x2)))))) (B, C, 1, 1).

    Only the up-sampled branch x1 is gated; the tap x2 is added unchanged (as the original).
    ``squeeze`` = Linear(2C, C), ``excite`` = Linear(C, C). x1, x2 (B, C, H, W) -> (B, C, H, W).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.squeeze = nn.Linear(2 * channels, channels)
        self.excite = nn.Linear(channels, channels)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        # GAP(concat(x1, x2)) without materialising the concatenation; sum / count rather than
        # mean, whose backward writes a full-size tensor where sum's is a broadcast view.
        count = x1.shape[2] * x1.shape[3]
        pooled = torch.cat([x1.sum(dim=(2, 3)) / count, x2.sum(dim=(2, 3)).to(x1.dtype) / count], dim=1)
        gate = torch.sigmoid(self.excite(torch.relu(self.squeeze(pooled))))
        # The result takes x1's memory format (channels-last), whatever x2's is: no copy of the tap.
        return (x1 * gate[:, :, None, None].to(x1.dtype)).add_(x2)


class CascadedFeatureAdaptation(nn.Module):
    """Decoder from the SPPE taps to three adapted maps and ``num_joints`` heatmap logits.

    Args:
        num_joints: heatmaps produced.
        tap_channels: channels of the taps (stride 16, 8, 4); FastPose gives (512, 256, 128).

    Forward on taps [T0 (B, c0, h, w), T1 (B, c1, 2h, 2w), T2 (B, c2, 4h, 4w)] returns
    ``(maps, heatmaps)``: maps = [M0 (B, c1, h, w), M1 (B, c2, 2h, 2w), M2 (B, c2, 4h, 4w)],
    heatmaps (B, J, 4h, 4w) (logits, crop frame of the taps). For a 320×256 crop: 256@20×16,
    128@40×32, 128@80×64 and J@80×64.
    """

    def __init__(self, num_joints: int, tap_channels: Sequence[int] = (512, 256, 128)):
        super().__init__()
        c0, c1, c2 = tap_channels
        self.out_channels = (c1, c2, c2)
        self.conv16 = nn.Conv2d(c0, c1, 3, padding=1)
        self.up16 = StrideTwoUpsampling(c1, c1)
        self.fuse8 = ChannelGatedFusion(c1)
        self.conv8 = nn.Conv2d(c1, c2, 3, padding=1)
        self.up8 = StrideTwoUpsampling(c2, c2)
        self.fuse4 = ChannelGatedFusion(c2)
        self.conv4 = nn.Conv2d(c2, c2, 3, padding=1)
        self.heatmap_conv = nn.Conv2d(c2, num_joints, 3, padding=1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Original init: 3×3 convs Kaiming-normal (fan_out, ReLU), bias 0; transposed convs keep
        # PyTorch's default; SE linears Kaiming-uniform with a=1, bias 0.
        for conv in (self.conv16, self.conv8, self.conv4, self.heatmap_conv):
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        for fuse in (self.fuse8, self.fuse4):
            for linear in (fuse.squeeze, fuse.excite):
                nn.init.kaiming_uniform_(linear.weight, a=1)
                nn.init.zeros_(linear.bias)

    def forward(self, taps: Sequence[Tensor]) -> tuple[list[Tensor], Tensor]:
        # Channels-last (NHWC) runs the oneDNN convolutions, above all the 12-channel one, 1.3-2.7x
        # faster on CPU than NCHW; outputs keep that memory format. The feature cache hands over
        # channels-last taps; NCHW ones still work (the first is converted, the others added).
        tap16, tap8, tap4 = taps
        tap16 = tap16.contiguous(memory_format=torch.channels_last)
        map16 = F.relu(self.conv16(tap16), inplace=True)
        # Not in place after the upsampling: its output is a view, and an in-place op on a view
        # makes autograd rebuild the base with NCHW copies in the backward.
        map8 = F.relu(self.conv8(self.fuse8(F.relu(self.up16(map16)), tap8)), inplace=True)
        map4 = F.relu(self.conv4(self.fuse4(F.relu(self.up8(map8)), tap4)), inplace=True)
        return [map16, map8, map4], self.heatmap_conv(map4)
