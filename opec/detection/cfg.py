"""Darknet ``.cfg`` files: blocks of ``key=value`` lines (AlphaPose ``parse_cfg`` grammar, docs/detection.md).

A file is a sequence of blocks. ``[type]`` opens a block; the other lines are ``key = value`` with
optional spaces around ``=``. Blank lines and comment lines (``#`` or ``;``) are skipped. The first
block is ``[net]`` (network settings); the blocks after it are the layers, numbered from 0.

The original drops only lines whose *first character* is ``#`` and crashes on whitespace-only lines;
this parser strips every line first, so indented comments and whitespace-only lines are accepted too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


class CfgError(ValueError):
    """A Darknet cfg file is missing, malformed, or has a missing/invalid field."""


@dataclass
class CfgBlock:
    """One ``[type]`` block: its options as strings, where it starts, and its layer index.

    ``index`` is the layer number (``[net]`` excluded) or ``None`` for the ``[net]`` block.
    Getters raise a one-line :class:`CfgError` naming the file, line, block and key.
    """

    type: str
    path: Path
    line: int
    index: int | None = None
    options: dict[str, str] = field(default_factory=dict)

    def _where(self, key: str) -> str:
        layer = "" if self.index is None else f" (layer {self.index})"
        return f"{self.path}:{self.line}: [{self.type}]{layer} field {key!r}"

    def get_str(self, key: str, default: str | None = None) -> str:
        if key in self.options:
            return self.options[key]
        if default is None:
            raise CfgError(f"{self._where(key)} is missing")
        return default

    def get_int(self, key: str, default: int | None = None) -> int:
        if key not in self.options and default is not None:
            return default
        value = self.get_str(key)
        try:
            return int(value)
        except ValueError:
            raise CfgError(f"{self._where(key)}: expected an integer, got {value!r}") from None

    def get_ints(self, key: str) -> list[int]:
        """A comma-separated integer list (spaces allowed: ``anchors = 10,13,  16,30``)."""
        value = self.get_str(key)
        try:
            return [int(item) for item in value.split(",") if item.strip()]
        except ValueError:
            raise CfgError(
                f"{self._where(key)}: expected comma-separated integers, got {value!r}"
            ) from None

    def error(self, key: str, message: str) -> CfgError:
        """A :class:`CfgError` for an option that parsed but is not acceptable."""
        return CfgError(f"{self._where(key)}: {message}")


@dataclass
class DarknetCfg:
    """A parsed cfg: the ``[net]`` block and the layer blocks in file order."""

    path: Path
    net: CfgBlock
    layers: list[CfgBlock]

    @property
    def input_size(self) -> tuple[int, int]:
        """``(height, width)`` of the network input from ``[net]`` (width defaults to height)."""
        height = self.net.get_int("height")
        return height, self.net.get_int("width", height)


def parse_cfg(path: str | Path) -> DarknetCfg:
    """Read a Darknet cfg file into a :class:`DarknetCfg`."""
    path = Path(path)
    if not path.is_file():
        raise CfgError(f"{path}: Darknet cfg file not found")
    blocks: list[CfgBlock] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            if not line.endswith("]") or len(line) < 3:
                raise CfgError(f"{path}:{number}: expected a block header like [convolutional], got {line!r}")
            blocks.append(CfgBlock(type=line[1:-1].strip(), path=path, line=number))
            continue
        if not blocks:
            raise CfgError(f"{path}:{number}: option {line!r} before the first [block] header")
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise CfgError(f"{path}:{number}: expected 'key=value', got {line!r}")
        blocks[-1].options[key.strip()] = value.strip()
    if not blocks or blocks[0].type != "net":
        raise CfgError(f"{path}: the first block must be [net]")
    for index, block in enumerate(blocks[1:]):
        block.index = index
    return DarknetCfg(path=path, net=blocks[0], layers=blocks[1:])
