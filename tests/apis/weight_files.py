"""Stand-ins for the tests: weight files in the official formats written by the tests themselves
(random or designed values), and a cheap SPPE with designed heatmaps.

* a TINY Darknet cfg (six stride-2 convs, one yolo head with one anchor and one class) and its
  ``.weights`` file, whose head predicts a person in every grid cell (zero weights, large
  objectness/class biases) -- at input 64 the grid is 1x1, so each image gives exactly one box;
* a FastPose ``duc_se.pth``-style state dict (random backbone; ``conv_out`` set to constant maps
  whose values are the given joint scores);
* an OPEC-Net checkpoint (random refiner, this project's key names);
* :class:`DesignedSPPE`, a FastPose stand-in without the 32 GFLOP per crop.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

# Designed joint scores (COCO order): body joints 6, 8, 10, 12, 15 are below 0.2, joint 13 is 0.2.
SCORES = (0.9, 0.8, 0.7, 0.9, 0.6,            # face
          0.9, 0.1, 0.95, 0.15, 0.5, 0.05,    # shoulders, elbows, wrists
          0.9, 0.19, 0.2, 0.3, 0.01, 0.85)    # hips, knees, ankles


class DesignedSPPE(nn.Module):
    """FastPose stand-in: joint j's heatmap is one peak of value SCORES[j] at cell (x, y) =
    (8 + 2j, 10 + 3j); the feature taps are computed from the crop, so identical crops give
    identical taps and different crops different ones."""

    def forward(self, x):
        from opec.sppe import SPPEOutput

        heatmaps = torch.zeros(x.shape[0], 17, 80, 64)
        for j, score in enumerate(SCORES):
            heatmaps[:, j, 10 + 3 * j, 8 + 2 * j] = score
        taps = [F.adaptive_avg_pool2d(x, size).repeat(1, c // 3 + 1, 1, 1)[:, :c]
                for c, size in ((512, (20, 16)), (256, (40, 32)), (128, (80, 64)))]
        return SPPEOutput(heatmaps, taps)

TINY_INP_DIM = 64
TINY_ANCHOR = (40, 56)
_TINY_CFG = """[net]
width=64
height=64
channels=3
""" + "".join(f"""
[convolutional]
batch_normalize=1
filters={c}
size=3
stride=2
pad=1
activation=leaky
""" for c in (4, 8, 8, 8, 8, 8)) + f"""
[convolutional]
size=1
stride=1
pad=1
filters=6
activation=linear

[yolo]
mask=0
anchors={TINY_ANCHOR[0]},{TINY_ANCHOR[1]}
classes=1
num=1
"""


def write_tiny_yolo(folder: Path) -> tuple[Path, Path]:
    """(cfg path, weights path) of a detector that finds one centred box per image at input 64."""
    from opec.detection import Darknet, save_darknet_weights

    cfg = folder / "tiny-yolo.cfg"
    cfg.write_text(_TINY_CFG)
    torch.manual_seed(0)
    model = Darknet(cfg)
    head = model.layers[model.yolo_indices[0] - 1].conv
    with torch.no_grad():
        head.weight.zero_()
        head.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 0.0, 8.0, 8.0]))  # tx ty tw th obj person
    weights = folder / "tiny-yolo.weights"
    save_darknet_weights(model, weights)
    return cfg, weights


def write_sppe(path: Path, joint_scores=SCORES) -> Path:
    """A FastPose state dict (random backbone) whose 17 heatmaps are constant maps of
    ``joint_scores`` (so every decoded joint has a known score)."""
    from opec.sppe import FastPose

    torch.manual_seed(0)
    model = FastPose()
    with torch.no_grad():
        model.conv_out.weight.zero_()
        model.conv_out.bias.zero_()
        model.conv_out.bias[:17] = torch.as_tensor(joint_scores, dtype=torch.float32)
    torch.save(model.state_dict(), path)
    return path


def write_refiner(path: Path) -> Path:
    from opec.refiner import build_refiner

    torch.manual_seed(0)
    torch.save(build_refiner(dict(type="OPECNet", point_head="integral")).state_dict(), path)
    return path
