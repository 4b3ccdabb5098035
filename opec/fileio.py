"""Atomic file output: write to a temporary file beside the target, then rename over it.

A crash or a failed write never leaves a partial file under the target's name; a killed process
may leave a ``.<name>.*.tmp`` file behind, which :func:`opec.engine.checkpoint.remove_temporaries`
cleans up.
"""
from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs):
    """Open a temporary file beside ``path`` for writing; on success flush, fsync and rename it
    over ``path``; on any error delete it. ``mode`` is ``"w"`` or ``"wb"``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # the permissions a plain open() would give
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: str | Path, data, indent: int | None = None) -> None:
    """Write ``data`` as JSON to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=indent)
        if indent is not None:
            handle.write("\n")
