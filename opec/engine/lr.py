"""Learning-rate schedule of the original trainer (docs/training.md): per-iteration cosine with a
linear warm-up and a floor.

The schedule is a function of the fractional epoch ``e = epoch + iteration / iterations_per_epoch``
and is written into every parameter group each iteration (the original overwrites the per-group
values, so one scheduled LR drives all parameters).
"""
from __future__ import annotations

import math

import torch


def cosine_lr(e: float, base_lr: float, num_epochs: int, warmup_lr: float = 1e-5,
              warmup_epochs: float = 1.0, min_lr: float = 1e-5) -> float:
    """LR at fractional epoch ``e``.

    cos(e) = max(base_lr * (cos(pi * e / num_epochs) + 1) / 2, min_lr); for e < warmup_epochs the LR
    rises linearly from ``warmup_lr`` (at e = 0) towards cos(warmup_epochs) -- evaluated at the
    warm-up's end, as the original does, so the curve is continuous at e = warmup_epochs.
    """
    def cosine(x: float) -> float:
        return max(base_lr * (math.cos(math.pi * x / num_epochs) + 1.0) / 2.0, min_lr)

    if e < warmup_epochs:
        return warmup_lr + (e / warmup_epochs) * (cosine(warmup_epochs) - warmup_lr)
    return cosine(e)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Write ``lr`` into every parameter group (the original's single effective LR)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
