"""File input and output shared by the whole package.

Output is atomic: written to a temporary file beside the target, then renamed over it. A crash or
a failed write never leaves a partial file under the target's name; a killed process may leave a
``.<name>.*.tmp`` file behind, which :func:`opec.engine.checkpoint.remove_temporaries` cleans up.
Input: :func:`read_json` is the one JSON reader, with one-line errors naming the file.
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


def atomic_write_text(text: str, path: str | Path) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def atomic_save(obj, path: str | Path) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    import torch

    with atomic_open(path, "wb") as handle:
        torch.save(obj, handle)


def atomic_write_image(path: str | Path, image) -> None:
    """Write an image (any format OpenCV encodes by ``path``'s suffix) atomically."""
    import cv2

    path = Path(path)
    ok, data = cv2.imencode(path.suffix or ".png", image)
    if not ok:
        raise OSError(f"{path}: could not encode the image")
    with atomic_open(path, "wb") as handle:
        handle.write(data.tobytes())


def atomic_write_files(outputs: dict) -> None:
    """Write {path: JSON-able object} so that either every file is written or none is: all go to
    temporary files beside their targets first and are renamed only when every one was written."""
    temps = []
    try:
        for path, obj in outputs.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            temps.append((tmp, path))
            os.chmod(tmp, 0o666 & ~_umask())  # the permissions a plain open() would give
            with os.fdopen(fd, "w") as handle:
                json.dump(obj, handle)
        for tmp, path in temps:
            os.replace(tmp, path)
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)


def read_json(path: str | Path, what: str, error: type[Exception] = ValueError):
    """Parse the JSON file ``path`` (``what`` it should hold, for messages); a missing, unreadable
    or invalid file raises ``error`` with one line naming the file.

    msgspec parses (linear time, several times faster than ``json`` on large results files); what
    it refuses -- NaN/Infinity tokens, huge integers, invalid JSON -- goes to ``json``, which accepts
    the first two (they are checked by the readers) and gives line and column for the last.
    """
    import msgspec

    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read()
        try:
            return msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return json.loads(raw)
    except FileNotFoundError:
        raise error(f"{path}: file not found (expected {what})") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory (expected {what})") from None
    except json.JSONDecodeError as err:
        raise error(f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except UnicodeDecodeError as err:
        raise error(f"{path}: not UTF-8 text ({err.reason}); expected {what}") from None
    except OSError as err:
        raise error(f"{path}: cannot read {what} ({err.strerror})") from None
