"""The SPPE reference vectors' synthetic FastPose weights, written by the tests themselves.

The vectors were computed with deterministic weights drawn from each state-dict key's name and shape
(the rule is part of the vectors' documentation): every key has its own generator
``numpy.random.default_rng([seed, crc32(key)])``, so the order and the subset of keys do not matter.

=====================================================  =========================================
key                                                    values (float32 unless noted)
=====================================================  =========================================
``*.num_batches_tracked``                              int64 zeros
4-D ``*.weight`` (convolution)                         N(0, sqrt(2 / (in * kh * kw)))  (He)
BatchNorm ``*.weight`` (a ``running_mean`` sibling)    U(0.15, 0.35) inside ``.bn3.``, else U(0.8, 1.2)
BatchNorm ``*.bias``                                   N(0, 0.05)
``*.running_mean`` / ``*.running_var``                 N(0, 0.05) / U(0.8, 1.25)
2-D ``*.weight`` (squeeze-excitation linear)           N(0, 0.5 / sqrt(in))
other ``*.bias``                                       N(0, 0.1) inside ``.se.fc.``, else N(0, 0.05)
=====================================================  =========================================

Writing them here instead of running the generator shipped beside the vectors keeps the tests free of
code loaded by file path; the parity tests check the result (a wrong rule cannot reproduce the vectors).
"""
from __future__ import annotations

import zlib

import numpy as np
import torch


def _draw(key: str, shape: tuple[int, ...], batch_norm: bool, rng: np.random.Generator) -> np.ndarray:
    """One tensor's values by the table of the module docstring."""
    name = key.rsplit(".", 1)[-1]
    if name == "weight" and len(shape) == 4:
        return rng.normal(0.0, np.sqrt(2.0 / (shape[1] * shape[2] * shape[3])), shape)
    if name == "weight" and batch_norm:
        return rng.uniform(0.15, 0.35, shape) if ".bn3." in key else rng.uniform(0.8, 1.2, shape)
    if name == "bias" and batch_norm:
        return rng.normal(0.0, 0.05, shape)
    if name == "running_mean":
        return rng.normal(0.0, 0.05, shape)
    if name == "running_var":
        return rng.uniform(0.8, 1.25, shape)
    if name == "weight" and len(shape) == 2:
        return rng.normal(0.0, 0.5 / np.sqrt(shape[1]), shape)
    if name == "bias":
        return rng.normal(0.0, 0.1 if ".se.fc." in key else 0.05, shape)
    raise ValueError(f"no weight rule for {key} {shape}")


def synthetic_state_dict(keys: list[dict], seed: int) -> dict[str, torch.Tensor]:
    """FastPose state dict for ``keys`` (entries ``{'key': str, 'shape': [...]}``, as listed in the
    vectors' ``sppe_keys.json``) drawn with ``seed``."""
    shapes = {entry["key"]: tuple(entry["shape"]) for entry in keys}
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros(shape, dtype=torch.int64)
            continue
        batch_norm = key.rsplit(".", 1)[0] + ".running_mean" in shapes
        rng = np.random.default_rng([int(seed), zlib.crc32(key.encode("utf-8"))])
        state[key] = torch.from_numpy(_draw(key, shape, batch_norm, rng).astype(np.float32))
    return state
