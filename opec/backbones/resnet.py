"""A ResNet top-down backbone in the style of SimpleBaseline (Xiao et al., ECCV 2018), as a second
feature network for the refiner (docs/architecture.md).

torchvision's ResNet trunk (stride 32) is followed by three stride-2 transposed convolutions
(4x4, 256 channels, BatchNorm, ReLU) and a 1x1 convolution to 17 COCO heatmaps. The refiner's
three taps are the outputs of the transposed convolutions:

    crop (B, 3, H, W) -> trunk (B, 2048, H/32, W/32) -> tap0 (B, 256, H/16, W/16)
                      -> tap1 (B, 256, H/8, W/8) -> tap2 (B, 256, H/4, W/4) -> heatmaps (B, 17, H/4, W/4)

so the refiner takes ``tap_channels=(256, 256, 256)``. Crops arrive as the project's AlphaPose
crops (RGB in [0, 1] minus ``opec.data.crop.RGB_MEAN``, no std division); the network turns them
into torchvision's ImageNet normalisation first, so an ImageNet ``.pth`` of torchvision
(``pretrained=``, a local file: nothing is downloaded) initialises the trunk meaningfully. Without
it the trunk keeps torchvision's random initialisation.
"""
from __future__ import annotations

import os
from typing import NamedTuple

import torch
import torchvision
from torch import Tensor, nn

from opec.data.crop import RGB_MEAN
from opec.keypoints import COCO17
from opec.registry import FEATURE_NETS

# torchvision's ImageNet normalisation of RGB in [0, 1].
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEPTHS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")


class BackboneOutput(NamedTuple):
    heatmaps: Tensor
    features: list[Tensor]


def _upsampling(in_channels: int, channels: int) -> nn.Sequential:
    """A stride-2 4x4 transposed convolution + BatchNorm + ReLU (doubles H and W exactly)."""
    return nn.Sequential(
        nn.ConvTranspose2d(in_channels, channels, kernel_size=4, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(channels),
        nn.ReLU(inplace=True),
    )


@FEATURE_NETS.register_module()
class ResNetSimpleBaseline(nn.Module):
    """ResNet trunk + deconvolution head; ``forward(crops) -> BackboneOutput(heatmaps, [tap0, tap1, tap2])``.

    Args:
        depth: a torchvision ResNet constructor name (``'resnet50'`` by default).
        pretrained: path of a torchvision ImageNet state dict for the trunk (e.g.
            ``resnet50-0676ba61.pth``), or None for random weights.
        channels: width of the three transposed convolutions (the taps' channels).
        num_joints: heatmaps (17, COCO order).
        seed: with ``pretrained=None``, the random weights are drawn from this seed alone.
    """

    def __init__(self, depth: str = "resnet50", pretrained: str | os.PathLike | None = None,
                 channels: int = 256, num_joints: int = COCO17.num_joints, seed: int = 0):
        super().__init__()
        if depth not in DEPTHS:
            raise ValueError(f"model.feature_net.depth: expected one of {DEPTHS}, got {depth!r}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            resnet = getattr(torchvision.models, depth)(weights=None)
            trunk_channels = resnet.fc.in_features
            self.upsample1 = _upsampling(trunk_channels, channels)
            self.upsample2 = _upsampling(channels, channels)
            self.upsample3 = _upsampling(channels, channels)
            self.final_layer = nn.Conv2d(channels, num_joints, kernel_size=1)
        if pretrained is not None:
            _load_trunk(resnet, pretrained)
        self.trunk = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool,
                                   resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)
        # AlphaPose crop -> ImageNet input: x_in = (x + RGB_MEAN - IMAGENET_MEAN) / IMAGENET_STD
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        self.register_buffer("input_scale", 1.0 / std, persistent=False)
        self.register_buffer("input_shift", (torch.tensor(RGB_MEAN) - torch.tensor(IMAGENET_MEAN)).view(1, 3, 1, 1) / std,
                             persistent=False)

    def forward(self, crops: Tensor) -> BackboneOutput:
        tap0 = self.upsample1(self.trunk(crops * self.input_scale + self.input_shift))
        taps = self.expand_taps([tap0])
        return BackboneOutput(self.final_layer(taps[2]), taps)

    def expand_taps(self, taps: list[Tensor]) -> list[Tensor]:
        """[tap0] -> [tap0, tap1, tap2] (lets the feature cache store tap0 only)."""
        tap1 = self.upsample2(taps[0])
        return [taps[0], tap1, self.upsample3(tap1)]


def _load_trunk(resnet: nn.Module, path: str | os.PathLike) -> None:
    """Load a torchvision ImageNet checkpoint into ``resnet`` (its ``fc`` classifier is ignored);
    one-line errors name the file and the first key that does not fit."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: ImageNet weights (model.feature_net.pretrained) not found; "
                                "see weights/README.md")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files, pickles with code, ...
        raise ValueError(f"{path}: cannot read the ImageNet weights ({type(exc).__name__})") from exc
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a torchvision ResNet state dict, got {type(state).__name__}")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    expected = {k: v for k, v in resnet.state_dict().items() if not k.startswith("fc.")}
    missing = sorted(set(expected) - set(state) - {k for k in expected if k.endswith("num_batches_tracked")})
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"missing key {missing[0]!r}" if missing else f"unexpected key {unexpected[0]!r}"
        raise ValueError(f"{path}: not a torchvision ResNet state dict of this depth: {what}")
    for key, value in state.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(f"{path}: {key}: expected shape {tuple(expected[key].shape)}, got {tuple(value.shape)}")
    resnet.load_state_dict(state, strict=False)
