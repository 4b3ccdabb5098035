"""Image features at the joint points: bilinear samples of the adapted maps (the paper's "peeking").

Same values as ``F.grid_sample(map, points[:, None], mode='bilinear', padding_mode='zeros')`` up to
float rounding, computed as one gather of the four neighbouring pixel vectors per joint:

* On channels-last maps (what the decoder produces) the gather reads a free (B, H·W, C) view, and
  the gradient comes back channels-last too. ``grid_sample``'s gradient is always NCHW, which forced
  the backward through slow mixed-layout element-wise ops on the largest tensors of the model.
* The interpolation is written with pixel differences, ``v00 + ax·(v01 − v00)``, so the gradient
  with respect to the points is a difference of neighbouring values taken directly.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn


def sample_at_points(feature_map: Tensor, points: Tensor, align_corners: bool = True) -> Tensor:
    """Bilinear samples of ``feature_map`` (B, C, H, W) at ``points`` (B, J, 2) → (B, J, C).

    Points are (x, y) in grid_sample's [-1, 1] frame: with ``align_corners`` ±1 are the centres of
    the corner pixels, without it their outer edges. Neighbours outside the map count as zero.
    The result has the wider of the map's dtype and float32 (or the points' dtype, if wider).
    Differentiable in both arguments (the gradient with respect to the points ignores the kinks at
    pixel centres, as grid_sample's does).
    """
    b, c, h, w = feature_map.shape
    j = points.shape[1]
    # Positions and weights in at least float32 (half-precision maps under autocast would put
    # the points on a 1/32-pixel grid); the result takes the wider of the two dtypes.
    points = points.to(torch.promote_types(points.dtype, torch.float32))
    size = torch.tensor([w, h], dtype=points.dtype, device=points.device)
    if align_corners:
        pixel = (points + 1) / 2 * (size - 1)
    else:
        pixel = ((points + 1) * size - 1) / 2
    corner = pixel.detach().floor()
    ax, ay = (pixel - corner).unbind(-1)  # (B, J) each, in [0, 1)
    x0, y0 = corner.to(torch.int64).unbind(-1)
    # The four neighbours (x0, y0), (x0+1, y0), (x0, y0+1), (x0+1, y0+1), corner-major: (B, 4, J).
    xs = torch.stack([x0, x0 + 1, x0, x0 + 1], dim=1)
    ys = torch.stack([y0, y0, y0 + 1, y0 + 1], dim=1)
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    index = torch.where(inside, ys * w + xs, 0).reshape(b, 4 * j, 1).expand(b, 4 * j, c)
    pixels = feature_map.permute(0, 2, 3, 1).reshape(b, h * w, c)  # a view when channels-last
    # Neighbour values in the result dtype, so that the differences below are not rounded to a
    # half-precision map's 8 or 11 bits (a no-op for float32 maps).
    result = torch.promote_types(feature_map.dtype, points.dtype)
    values = torch.gather(pixels, 1, index).to(result) * inside.reshape(b, 4 * j, 1).to(result)
    v00, v01, v10, v11 = values.reshape(b, 4, j, c).unbind(1)
    ax, ay = ax[..., None], ay[..., None]
    top = v00 + ax * (v01 - v00)
    bottom = v10 + ax * (v11 - v10)
    return top + ay * (bottom - top)


class JointFeatureSampler(nn.Module):
    """Samples every adapted map at the joint points: maps [(B, C_k, H_k, W_k)], points (B, J, 2)
    in [-1, 1] → [(B, C_k, J)] (a transposed view of :func:`sample_at_points`' (B, J, C_k)).

    ``align_corners=True`` is what the original got: it ran on PyTorch ≤ 1.1, whose grid_sample had
    exactly that behaviour; the modern default (False) moves every output.
    """

    def __init__(self, align_corners: bool = True):
        super().__init__()
        self.align_corners = align_corners

    def forward(self, maps: Sequence[Tensor], points: Tensor) -> list[Tensor]:
        return [sample_at_points(m, points, self.align_corners).transpose(1, 2) for m in maps]

    def extra_repr(self) -> str:
        return f"align_corners={self.align_corners}"
