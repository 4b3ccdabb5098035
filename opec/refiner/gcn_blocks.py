"""GCN building blocks of OPEC-Net's image-guided progressive GCN.

* :class:`GraphConvBlock`  -- SemGraphConv → BatchNorm → ReLU (the original's ``_GraphConv``).
* :class:`NodeAttention`   -- per-joint sigmoid gate computed from the joint-averaged features.
* :class:`ResidualGraphBlock` -- image features concatenated *before* the node features, two graph
  convolutions, residual, BatchNorm, ReLU, node attention (the original's
  ``_ResGraphConv_Attention``).

Node features are laid out (B, J, C) between blocks, as in the original.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from opec.refiner.graph import SemGraphConv


def _batch_norm_over_joints(bn: nn.BatchNorm1d, x: Tensor) -> Tensor:
    """BatchNorm1d on (B, J, C) node features: statistics pooled over persons and joints.

    The original transposes to (B, C, J) for BatchNorm1d; flattening to (B*J, C) gives the same
    per-channel statistics (and the same unbiased running-variance count B*J) without the copies.
    """
    return bn(x.reshape(-1, x.shape[-1])).reshape(x.shape)


class GraphConvBlock(nn.Module):
    """SemGraphConv → BatchNorm1d (eps 1e-5, momentum 0.1) → ReLU. (B, J, in) -> (B, J, out)."""

    def __init__(self, in_features: int, out_features: int, mask: Tensor):
        super().__init__()
        self.gconv = SemGraphConv(in_features, out_features, mask)
        self.bn = nn.BatchNorm1d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(_batch_norm_over_joints(self.bn, self.gconv(x)))


class NodeAttention(nn.Module):
    """Per-joint gate: a = sigmoid(MLP(mean over joints of Y)) (B, J); returns Y·(1 + a_j).

    ``squeeze`` = Linear(C, C//4) → ReLU → Linear(C//4, J). Y (B, J, C) -> (B, J, C).
    """

    def __init__(self, channels: int, num_joints: int):
        super().__init__()
        self.squeeze = nn.Sequential(
            nn.Linear(channels, channels // 4), nn.ReLU(inplace=True), nn.Linear(channels // 4, num_joints)
        )

    def forward(self, y: Tensor) -> Tensor:
        gate = torch.sigmoid(self.squeeze(y.mean(dim=1)))  # (B, J)
        return y * (1 + gate.unsqueeze(-1).to(y.dtype))


class ResidualGraphBlock(nn.Module):
    """Residual GCN block with optional image features (the paper's image-guided GCN block).

    Forward (X (B, J, C_x), F (B, C_f, J) or None), with C_f + C_x == ``channels``:
    X ← concat(Fᵀ, X) (image features first, as the original), T = gconv2(gconv1(X)),
    Y = ReLU(BN(X + T)), return NodeAttention(Y) (B, J, channels).

    ``gconv1`` = GraphConvBlock(channels, channels // 2); ``gconv2`` = SemGraphConv(channels // 2,
    channels) without normalisation.
    """

    def __init__(self, channels: int, num_joints: int, mask: Tensor):
        super().__init__()
        self.gconv1 = GraphConvBlock(channels, channels // 2, mask)
        self.gconv2 = SemGraphConv(channels // 2, channels, mask)
        self.bn = nn.BatchNorm1d(channels)
        self.attention = NodeAttention(channels, num_joints)

    def forward(self, x: Tensor, features: Tensor | None = None) -> Tensor:
        if features is not None:
            # Image features go first: the checkpoint's weight rows are ordered that way.
            x = torch.cat([features.transpose(1, 2).to(x.dtype), x], dim=2)
        y = x + self.gconv2(self.gconv1(x))
        return self.attention(torch.relu(_batch_norm_over_joints(self.bn, y)))
