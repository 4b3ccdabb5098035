"""A tiny Darknet cfg written by the tests (every layer type of yolov3-spp), and helpers."""
from __future__ import annotations

from pathlib import Path

import pytest

# Layer index in comments. 2 classes; head 12 has 2 anchors (14 channels), head 17 one (7 channels).
TINY_CFG = """\
[net]
# input size
height = 64
width=64
channels=3

[convolutional]
batch_normalize=1
filters=4
size=3
stride=1
pad=1
activation=leaky
# 0: 4·4 BN + 4·3·3·3 = 124 values

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
# 1: 4·8 + 8·4·9 = 320

[convolutional]
filters=4
size=1
stride=1
pad=1
activation=leaky
# 2 (no BN): 4 + 4·8 = 36

[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
# 3: 4·8 + 8·4·9 = 320

[shortcut]
from=-3
activation=linear
# 4

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
# 5: 4·8 + 8·8·9 = 608  (stride 4)

[convolutional]
batch_normalize=1
filters=8
size=3
stride=2
pad=1
activation=leaky
# 6: 608 (stride 8)

[maxpool]
stride=1
size=5
# 7

[route]
layers=-2
# 8

[maxpool]
stride=1
size=9
# 9

[route]
layers=-1,-3,-4
# 10: 8+8+8 = 24 channels

[convolutional]
size=1
stride=1
pad=1
filters=14
activation=linear
# 11 head (no BN): 14 + 14·24 = 350

[yolo]
mask = 1,2
anchors = 5,6,  12,10,  20,30
classes=2
num=3
# 12

[route]
layers = -3
# 13

[upsample]
stride=2
# 14

[route]
layers = -1, 5
# 15: 24 + 8 = 32 channels

[convolutional]
size=1
stride=1
pad=1
filters=7
activation=linear
# 16 head with one anchor (no BN): 7 + 7·32 = 231

[yolo]
mask = 0
anchors = 5,6,  12,10,  20,30
classes=2
num=3
# 17
"""
# conv value counts by hand (see the comments above)
TINY_NUM_FLOATS = 124 + 320 + 36 + 320 + 608 + 608 + 350 + 231


@pytest.fixture()
def tiny_cfg(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.cfg"
    path.write_text(TINY_CFG)
    return path


@pytest.fixture()
def tiny_num_floats() -> int:
    """Float32 values of a weights file for TINY_CFG, counted by hand."""
    return TINY_NUM_FLOATS
