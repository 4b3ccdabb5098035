"""The "Alpha" variants (opec_spec §7.11): the SPPE inside the model, fine-tuned end to end.

``AlphaOPECNet`` holds a refiner (``OPECNet`` with either point head) and the SPPE under the
original's attribute path ``generator.model.pyranet`` so that the 654 SPPE entries of an original
Alpha checkpoint keep their names (``generator.model.pyranet.preact.conv1.weight``, ...). Unlike the
original, whose evaluation crashed for these variants (opec_spec §14.24), the same forward serves
training and testing: ``forward(joints, inps)`` runs the SPPE (with gradients while training, in
the module's own train/eval mode) and the refiner on its taps.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

SPPE_PREFIX = "generator.model.pyranet."
REFINER_PREFIX = "refiner."


class _Generator(nn.Module):
    """Only gives the SPPE the original's key path ``generator.model.pyranet``."""

    def __init__(self, sppe: nn.Module):
        super().__init__()
        self.model = nn.Module()
        self.model.pyranet = sppe


class AlphaOPECNet(nn.Module):
    """Refiner + trainable SPPE.

    forward(joints (B,J,3) box-normalised x̂, ŷ, score; inps (B,3,320,256) crops) -> RefinerOutput
    (box-normalised frame), as ``OPECNet.forward`` with the SPPE taps as features.
    """

    def __init__(self, refiner: nn.Module, sppe: nn.Module):
        super().__init__()
        self.refiner = refiner
        # Channels-last: the refiner's decoder works in that layout (no transposed taps), and the
        # SPPE's own convolutions train ~10 % faster that way on CPU.
        self.generator = _Generator(sppe.to(memory_format=torch.channels_last))

    @property
    def sppe(self) -> nn.Module:
        return self.generator.model.pyranet

    def forward(self, joints: Tensor, inps: Tensor):
        return self.refiner(joints, list(self.sppe(inps).features))


def load_alpha_checkpoint(model: AlphaOPECNet, path_or_state) -> None:
    """Load an Alpha checkpoint: this project's (``refiner.*``) or the original's (refiner keys at
    the top level). SPPE entries (``generator.model.pyranet.*``) load strictly into the SPPE, the
    rest through ``load_refiner_checkpoint`` (which maps original refiner key names)."""
    from opec.refiner import load_refiner_checkpoint

    if isinstance(path_or_state, (str, Path)):
        state = torch.load(path_or_state, map_location="cpu", weights_only=True)
        source = str(path_or_state)
    else:
        state, source = path_or_state, "state_dict"
    sppe_state = {k[len(SPPE_PREFIX):]: v for k, v in state.items() if k.startswith(SPPE_PREFIX)}
    if not sppe_state:
        raise ValueError(f"{source}: no '{SPPE_PREFIX}*' entries: not an Alpha checkpoint")
    refiner_state = {(k[len(REFINER_PREFIX):] if k.startswith(REFINER_PREFIX) else k): v
                     for k, v in state.items() if not k.startswith(SPPE_PREFIX)}
    missing, unexpected = model.sppe.load_state_dict(sppe_state, strict=False)
    if missing or unexpected:
        key = (missing or unexpected)[0]
        what = "missing" if missing else "unexpected"
        raise ValueError(f"{source}: SPPE entry {SPPE_PREFIX}{key} is {what}")
    load_refiner_checkpoint(model.refiner, refiner_state)
