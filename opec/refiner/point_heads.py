"""Heatmaps → one 2-D point per joint, in grid_sample's [-1, 1] frame of the heatmap.

Two heads, the only difference between OPEC-Net's two main variants:

* :class:`SoftArgmax2d` ("integral", the default config): expected pixel position under a softmax
  over the whole map.
* :class:`FCPointHead` (the FC config): an MLP regressing (x, y) from each joint's flattened map.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn


class SoftArgmax2d(nn.Module):
    """Soft-argmax over each heatmap. (B, J, H, W) logits -> (B, J, 2) points (x, y).

    X = Σ p·column, Y = Σ p·row (pixel indices), then x = 2·(X/W − 0.5), y = 2·(Y/H − 0.5).
    """

    def forward(self, heatmaps: Tensor) -> Tensor:
        b, j, h, w = heatmaps.shape
        # At least float32: half-precision logits would give coarse positions.
        dtype = torch.promote_types(heatmaps.dtype, torch.float32)
        prob = torch.softmax(heatmaps.reshape(b, j, h * w), dim=-1, dtype=dtype).reshape(b, j, h, w)
        columns = torch.arange(w, dtype=prob.dtype, device=prob.device)
        rows = torch.arange(h, dtype=prob.dtype, device=prob.device)
        x = (prob.sum(dim=2) * columns).sum(dim=-1)  # marginal over rows, then expectation: (B, J)
        y = (prob.sum(dim=3) * rows).sum(dim=-1)
        # Divides by W and H although the sampler's frame spans W-1 and H-1: kept from the
        # original, whose trained weights expect it.
        return torch.stack([2 * (x / w - 0.5), 2 * (y / h - 0.5)], dim=-1)


class FCPointHead(nn.Module):
    """MLP on each joint's raw heatmap flattened row-major: H·W → 1024 → 1024 → 2 (ReLU between).

    (B, J, H, W) -> (B, J, 2), unbounded (points may fall outside [-1, 1]).
    """

    def __init__(self, heatmap_size: tuple[int, int] = (80, 64), hidden: int = 1024):
        super().__init__()
        self.heatmap_size = tuple(heatmap_size)
        self.fc1 = nn.Linear(self.heatmap_size[0] * self.heatmap_size[1], hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 2)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Original init: Kaiming-uniform with a=1 (bound sqrt(3/fan_in)), bias 0.
        for linear in (self.fc1, self.fc2, self.out):
            nn.init.kaiming_uniform_(linear.weight, a=1)
            nn.init.zeros_(linear.bias)

    def forward(self, heatmaps: Tensor) -> Tensor:
        if tuple(heatmaps.shape[-2:]) != self.heatmap_size:
            raise ValueError(
                f"FCPointHead expects {self.heatmap_size[0]}x{self.heatmap_size[1]} heatmaps, "
                f"got {heatmaps.shape[-2]}x{heatmaps.shape[-1]}"
            )
        hidden = torch.relu(self.fc1(heatmaps.flatten(2)))
        return self.out(torch.relu(self.fc2(hidden)))
