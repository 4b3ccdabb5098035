"""Checkpoint files: atomic writes, the resumable training state, and the mAP.txt history.

A checkpoint folder ``<work_dir>/`` (default ``checkpoints/<config name>/``) holds

* ``<epoch>.pth``          the refiner's state_dict after that epoch (the original's format),
* ``best_checkpoint.pth``  the state_dict of the epoch with the best *without-best-match* AP,
* ``last.pth``             everything needed to continue: model, optimizer, AMP scaler, the next
                           epoch, RNG states, best-so-far and the full mAP history,
* ``mAP.txt``              one line per finished epoch (``opec.evaluation.map_file``).

Every file is written to a temporary name in the same folder and then renamed, so a kill at any
moment leaves either the old or the new complete file. ``last.pth`` is written after the epoch's
files, and the mAP history it holds is authoritative: on resume ``mAP.txt`` is rewritten from it,
so every finished epoch appears exactly once whatever moment the previous run was killed at.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch


LAST_STATE = "last.pth"
BEST_CHECKPOINT = "best_checkpoint.pth"


def remove_temporaries(folder: str | Path) -> None:
    """Delete the temporary files (``.<name>.*.tmp``) a killed save leaves behind."""
    for tmp in Path(folder).glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def rng_state() -> dict:
    """Python, NumPy and torch (CPU and, when present, CUDA) generator states."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        # stored as tensors and plain numbers so that weights_only loading accepts the file
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(_as_python_state(state["python"]))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_python_state(state):
    # torch.save keeps tuples; a round trip through weights_only loading may give lists.
    version, internal, gauss = state
    return version, tuple(internal), gauss


def load_state(path: str | Path) -> dict:
    """Load a ``last.pth`` training state; a one-line RuntimeError names the file on failure."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise RuntimeError(f"{path}: cannot read the training state ({exc})") from exc
    for key in ("model", "optimizer", "next_epoch", "best_ap", "history", "rng"):
        if key not in state:
            raise RuntimeError(f"{path}: training state lacks the field {key!r}")
    return state
