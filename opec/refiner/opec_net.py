"""OPEC-Net refiner: cascaded feature adaptation → joint points → image-guided progressive GCN.

Inputs per person: the initial joints (x̂, ŷ, score) normalised to the person box
(x̂ = 2·((x − x0)/w − 0.5), so [-1, 1] spans the box) and the three SPPE feature taps of the crop.
Outputs (box-normalised frame): three refined poses, one per GCN stage (the last is the
prediction), and the points the features were sampled at (supervised with the same targets).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from torch import Tensor, nn

from opec.keypoints import OPEC12
from opec.refiner.checkpoint import original_keys_pre_hook
from opec.refiner.feature_adaptation import CascadedFeatureAdaptation
from opec.refiner.graph import skeleton_mask
from opec.refiner.image_guided_gcn import ImageGuidedGCN
from opec.refiner.joint_sampling import JointFeatureSampler
from opec.refiner.point_heads import FCPointHead, SoftArgmax2d
from opec.registry import REFINERS

POINT_HEADS = ("integral", "fc")


class RefinerOutput(NamedTuple):
    """``stages``: 3 × (B, J, 2) refined (x̂, ŷ); ``points``: (B, J, 2) sampling points (x, y)."""

    stages: list[Tensor]
    points: Tensor


@REFINERS.register_module()
class OPECNet(nn.Module):
    """The OPEC-Net refiner (both variants of the paper: soft-argmax or FC point head).

    Args:
        num_joints: J (12 for the OPEC joint set).
        edges: undirected skeleton edges (defaults to the OPEC-12 skeleton).
        hid_dim: GCN width of the first blocks (128).
        point_head: ``'integral'`` (soft-argmax, default config) or ``'fc'`` (FC regressor).
        tap_channels: channels of the SPPE taps at strides 16, 8, 4 (FastPose: 512, 256, 128).
        heatmap_size: (H, W) of the stride-4 tap; only the FC head depends on it (80×64 for a
            320×256 crop).

    ``forward(joints (B, J, 3), features [tap16, tap8, tap4]) -> RefinerOutput``. The module's
    ``load_state_dict`` also accepts the original implementation's key names (see
    :mod:`opec.refiner.checkpoint`).
    """

    def __init__(
        self,
        num_joints: int = OPEC12.num_joints,
        edges: Sequence[Sequence[int]] = OPEC12.skeleton,
        hid_dim: int = 128,
        point_head: str = "integral",
        tap_channels: Sequence[int] = (512, 256, 128),
        heatmap_size: Sequence[int] = (80, 64),
    ):
        super().__init__()
        if point_head not in POINT_HEADS:
            raise ValueError(f"point_head must be one of {POINT_HEADS}, got {point_head!r}")
        self.num_joints = num_joints
        self.tap_channels = tuple(tap_channels)
        self.feature_adaptation = CascadedFeatureAdaptation(num_joints, tap_channels)
        self.point_head = SoftArgmax2d() if point_head == "integral" else FCPointHead(tuple(heatmap_size))
        self.sampler = JointFeatureSampler()
        self.gcn = ImageGuidedGCN(
            num_joints, skeleton_mask(num_joints, edges), hid_dim, self.feature_adaptation.out_channels
        )
        self.register_load_state_dict_pre_hook(original_keys_pre_hook)

    def forward(self, joints: Tensor, features: Sequence[Tensor]) -> RefinerOutput:
        self._check_inputs(joints, features)
        maps, heatmaps = self.feature_adaptation(features)
        points = self.point_head(heatmaps)
        stages = self.gcn(joints, self.sampler(maps, points))
        return RefinerOutput(stages, points)

    def _check_inputs(self, joints: Tensor, features: Sequence[Tensor]) -> None:
        if joints.dim() != 3 or joints.shape[1:] != (self.num_joints, 3):
            raise ValueError(f"joints must be (B, {self.num_joints}, 3), got {tuple(joints.shape)}")
        if len(features) != 3:
            raise ValueError(f"features must be the 3 SPPE taps (strides 16, 8, 4), got {len(features)}")
        for k, (tap, channels) in enumerate(zip(features, self.tap_channels)):
            if tap.dim() != 4 or tap.shape[0] != joints.shape[0] or tap.shape[1] != channels:
                raise ValueError(
                    f"features[{k}] must be (B={joints.shape[0]}, {channels}, H, W), got {tuple(tap.shape)}"
                )
