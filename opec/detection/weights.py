"""The official Darknet ``.weights`` binary format: reader and writer (docs/detection.md).

Layout (little-endian): int32 major, minor, revision; ``seen`` as uint64 when
major·10 + minor ≥ 2 (and both < 1000) else as int32; then float32 values for every
convolutional layer in cfg order: with batch norm β, γ, running mean, running var (``filters``
each), without batch norm the conv bias; then the conv weight (out, in, kh, kw) in C order.

Unlike the original (which always skips 20 bytes and never checks the length), the reader honours
the 4-byte ``seen`` of old files and rejects a file whose size does not match the cfg.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from opec.fileio import atomic_open

from .darknet import Darknet


class DarknetHeader(NamedTuple):
    major: int
    minor: int
    revision: int
    seen: int

    @property
    def seen_bytes(self) -> int:
        return 8 if _has_64bit_seen(self.major, self.minor) else 4

    @property
    def size(self) -> int:
        return 12 + self.seen_bytes


class WeightSlot(NamedTuple):
    """Where one conv layer's values sit in the file (offsets in float32 values after the header)."""

    layer: int
    float_offset: int
    num_floats: int


def _has_64bit_seen(major: int, minor: int) -> bool:
    return major * 10 + minor >= 2 and major < 1000 and minor < 1000


def _tensors(conv) -> list[torch.Tensor]:
    """The tensors of one conv layer in file order."""
    if conv.batch_normalize:
        if conv.bn is None:
            raise RuntimeError("Darknet weights must be loaded/saved before fuse_batchnorm()")
        bn = conv.bn
        return [bn.bias, bn.weight, bn.running_mean, bn.running_var, conv.conv.weight]
    return [conv.conv.bias, conv.conv.weight]


def weight_layout(model: Darknet) -> list[WeightSlot]:
    """Offset and size of every conv layer's block of values, in file order."""
    slots, offset = [], 0
    for index, conv in model.conv_layers():
        count = sum(t.numel() for t in _tensors(conv))
        slots.append(WeightSlot(index, offset, count))
        offset += count
    return slots


def expected_file_size(model: Darknet, header_size: int = 20) -> int:
    """Bytes of a weights file for ``model``: header + 4 per float32 value."""
    return header_size + 4 * sum(slot.num_floats for slot in weight_layout(model))


def read_header(path: str | Path) -> DarknetHeader:
    path = Path(path)
    with open(path, "rb") as f:
        head = f.read(20)
    if len(head) < 12:
        raise ValueError(f"{path}: {len(head)} bytes, too short for a Darknet weights header")
    major, minor, revision = struct.unpack("<3i", head[:12])
    seen_bytes = 8 if _has_64bit_seen(major, minor) else 4
    if len(head) < 12 + seen_bytes:
        raise ValueError(f"{path}: {len(head)} bytes, too short for a Darknet weights header")
    (seen,) = struct.unpack("<Q" if seen_bytes == 8 else "<i", head[12:12 + seen_bytes])
    return DarknetHeader(major, minor, revision, seen)


def check_weights_file(path: str | Path) -> Path:
    """Return ``path`` as a Path; FileNotFoundError (one line, naming it and weights/README.md) if absent."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Darknet weights file not found (see weights/README.md)")
    return path


def load_darknet_weights(model: Darknet, path: str | Path) -> DarknetHeader:
    """Copy the values of a Darknet ``.weights`` file into ``model`` (before fuse_batchnorm).

    Raises FileNotFoundError (one line, naming the path and weights/README.md) for a missing file and
    ValueError naming the file, the expected and the actual size when the file does not fit the cfg.
    """
    path = check_weights_file(path)
    header = read_header(path)
    slots = weight_layout(model)
    num_floats = sum(slot.num_floats for slot in slots)
    expected, actual = header.size + 4 * num_floats, path.stat().st_size
    if actual != expected:
        raise ValueError(
            f"{path}: file size {actual} bytes does not match the cfg {model.cfg.path.name}: "
            f"expected {expected} bytes ({header.size}-byte header + {num_floats} float32 values)")
    values = np.fromfile(path, dtype="<f4", offset=header.size)
    with torch.no_grad():
        for slot, (_, conv) in zip(slots, model.conv_layers()):
            offset = slot.float_offset
            for tensor in _tensors(conv):
                chunk = torch.from_numpy(values[offset:offset + tensor.numel()])
                tensor.copy_(chunk.view_as(tensor))
                offset += tensor.numel()
    return header


def save_darknet_weights(model: Darknet, path: str | Path, version: tuple[int, int, int] = (0, 2, 0),
                         seen: int = 0) -> None:
    """Write ``model``'s conv/BN values as a Darknet ``.weights`` file (atomically)."""
    path = Path(path)
    major, minor, revision = version
    seen_format = "<Q" if _has_64bit_seen(major, minor) else "<i"
    parts = [struct.pack("<3i", major, minor, revision), struct.pack(seen_format, seen)]
    for _, conv in model.conv_layers():
        for tensor in _tensors(conv):
            parts.append(tensor.detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes())
    with atomic_open(path, "wb") as f:
        for part in parts:
            f.write(part)
