"""Heatmap decoding of AlphaPose (``getPrediction``): peaks -> heatmap cells -> image pixels.

Rules, all from the original:
1. peak = first maximum of each (H, W) map in row-major order; score = the raw maximum.
2. joints whose maximum is <= 0 are put at (0, 0) (their score stays).
3. quarter-cell shift towards the larger neighbour on each axis (sign of the difference, none on a
   tie), only when the integer peak lies strictly inside the map (0 < x < W-1, 0 < y < H-1).
4. + 0.2 on both coordinates.
5. inverse crop mapping with the *float* enlarged box pt1..pt2 (not cropBox's truncated ints):
   len_h = max(h, w * in_h / in_w), len_w = len_h * in_w / in_h, centre = (pt2 - 1 - pt1) / 2,
   x = q_x - max(0, (len_w - 1) / 2 - c_x) + pt1_x with q = p * len_h / H (both axes), likewise y.
   It ignores the crop's tiny rotation, as the original does.
"""
from __future__ import annotations

import torch

from opec.data.crop import INPUT_HEIGHT, INPUT_WIDTH

QUARTER_SHIFT = 0.25
PEAK_OFFSET = 0.2


def heatmap_peaks(heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """heatmaps (N, J, H, W) -> coords (N, J, 2) float32 heatmap cells (x, y) after rules 1-4,
    scores (N, J, 1) = the maxima."""
    n, j, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, j, h * w)
    index = flat.argmax(dim=-1, keepdim=True)  # first maximum on ties
    scores = flat.gather(-1, index)
    x = (index % w).to(torch.float32)
    y = torch.div(index, w, rounding_mode="floor").to(torch.float32)
    positive = scores > 0
    x = torch.where(positive, x, 0.0)
    y = torch.where(positive, y, 0.0)
    inside = (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    peak = (y * w + x).to(torch.int64)
    # Neighbour indices, clamped into the map; they are only used where ``inside`` holds.
    neighbours = torch.cat([peak + 1, peak - 1, peak + w, peak - w], dim=-1).clamp(0, h * w - 1)
    values = flat.gather(-1, neighbours)
    dx = torch.sign(values[..., 0:1] - values[..., 1:2]) * QUARTER_SHIFT
    dy = torch.sign(values[..., 2:3] - values[..., 3:4]) * QUARTER_SHIFT
    x = x + torch.where(inside, dx, 0.0) + PEAK_OFFSET
    y = y + torch.where(inside, dy, 0.0) + PEAK_OFFSET
    return torch.cat([x, y], dim=-1), scores


def heatmap_to_image(coords: torch.Tensor, pt1, pt2, heatmap_height: int,
                     input_size: tuple[int, int] = (INPUT_HEIGHT, INPUT_WIDTH)) -> torch.Tensor:
    """coords (N, J, 2) heatmap cells, pt1/pt2 (N, 2) float enlarged boxes (image px) ->
    (N, J, 2) image px (rule 5). ``input_size`` = (H, W) of the network input."""
    in_h, in_w = input_size
    pt1 = torch.as_tensor(pt1, dtype=coords.dtype, device=coords.device)
    pt2 = torch.as_tensor(pt2, dtype=coords.dtype, device=coords.device)
    size = pt2 - pt1
    len_h = torch.maximum(size[:, 1], size[:, 0] * in_h / in_w)
    len_w = len_h * in_w / in_h
    centre = (pt2 - 1 - pt1) / 2
    half_len = torch.stack([(len_w - 1) / 2, (len_h - 1) / 2], dim=-1)
    offset = torch.clamp(half_len - centre, min=0)
    scaled = coords * (len_h / heatmap_height)[:, None, None]
    return scaled - offset[:, None, :] + pt1[:, None, :]


def decode_heatmaps(heatmaps: torch.Tensor, pt1, pt2,
                    input_size: tuple[int, int] = (INPUT_HEIGHT, INPUT_WIDTH)
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """AlphaPose ``getPrediction``: heatmaps (N, J, H, W), pt1/pt2 (N, 2) enlarged boxes (image px)
    -> coords (N, J, 2) image px, scores (N, J, 1) (raw heatmap maxima)."""
    coords, scores = heatmap_peaks(heatmaps)
    return heatmap_to_image(coords, pt1, pt2, heatmaps.shape[2], input_size), scores
