"""Image-guided progressive GCN: refines the initial joints with image features in three stages.

The graph input is the initial pose (x̂, ŷ, score) per joint. Blocks 2, 3 and 4 each take the
image features sampled at the predicted joint points from one adapted map (stride 16, 8, 4),
concatenated in front of the node features, so the node width grows 128 → 384 → 512 → 640 for the
default sizes. After blocks 2, 3 and 4 a graph convolution outputs one refined pose per stage.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from opec.refiner.gcn_blocks import GraphConvBlock, ResidualGraphBlock
from opec.refiner.graph import SemGraphConv


class ImageGuidedGCN(nn.Module):
    """Three-stage GCN on (B, J, 3) joints guided by three sets of joint features.

    Args:
        num_joints: J.
        mask: (J, J) bool adjacency with self loops.
        hid_dim: width of the first two blocks (the original's 128).
        feature_channels: widths of the three joint-feature sets (256, 128, 128 by default).
        in_features: per-joint input values (x̂, ŷ, score) = 3.

    Forward (joints (B, J, in_features), features [F0 (B, f0, J), F1 (B, f1, J), F2 (B, f2, J)])
    returns the three stage outputs, each (B, J, 2), in the frame of the input coordinates.
    """

    def __init__(
        self,
        num_joints: int,
        mask: Tensor,
        hid_dim: int = 128,
        feature_channels: Sequence[int] = (256, 128, 128),
        in_features: int = 3,
    ):
        super().__init__()
        widths = [hid_dim, hid_dim]
        for channels in feature_channels:
            widths.append(widths[-1] + channels)
        self.input_block = GraphConvBlock(in_features, hid_dim, mask)
        self.blocks = nn.ModuleList(ResidualGraphBlock(w, num_joints, mask) for w in widths[1:])
        self.stage_heads = nn.ModuleList(SemGraphConv(w, 2, mask) for w in widths[2:])

    def forward(self, joints: Tensor, features: Sequence[Tensor]) -> list[Tensor]:
        x = self.blocks[0](self.input_block(joints))
        stages = []
        for block, head, joint_features in zip(self.blocks[1:], self.stage_heads, features):
            x = block(x, joint_features)
            stages.append(head(x))
        return stages
