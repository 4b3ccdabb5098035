"""The top-down model: a feature network (the SPPE, or another backbone) and a refiner on its taps.

``model = dict(type='TopDownRefiner', feature_net=dict(type='FastPose', weights=...),
refiner=dict(type='OPECNet', ...), fine_tune=False)`` in a config builds it (docs/architecture.md).

* ``fine_tune=False`` (the paper's main setting): the feature network is frozen. It is kept out of
  the module's parameters and state dict -- its weights come from their own file and checkpoints
  hold the refiner only, in the original's format -- and the model's second input is the three
  taps, supplied by a feature source (live or cached, :mod:`opec.engine.feature_sources`).
* ``fine_tune=True`` (the original's "Alpha" configs, docs/training.md): the feature network is a
  trainable submodule under the original's key path ``generator.model.pyranet``, so the 654 SPPE
  entries of an original Alpha checkpoint keep their names; the model's second input is the crops
  and ``forward`` runs the feature network (with gradients while training) and then the refiner.
  The original could not evaluate these variants; here the same forward serves both.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from opec.refiner.checkpoint import CheckpointError, load_refiner_checkpoint, read_checkpoint
from opec.registry import FEATURE_NETS, MODELS, REFINERS, build

FEATURE_NET_PREFIX = "generator.model.pyranet."
REFINER_PREFIX = "refiner."


class _Generator(nn.Module):
    """Only gives a fine-tuned feature network the original's key path ``generator.model.pyranet``."""

    def __init__(self, feature_net: nn.Module):
        super().__init__()
        self.model = nn.Module()
        self.model.pyranet = feature_net


@MODELS.register_module()
class TopDownRefiner(nn.Module):
    """Feature network + refiner.

    Args:
        feature_net: config dict of a ``FEATURE_NETS`` part (``type='FastPose'``, ...), or a built
            module (the inference pipeline passes the SPPE it already runs).
        refiner: config dict of a ``REFINERS`` part (``type='OPECNet'``, ...), or a built module.
        fine_tune: train the feature network with the refiner (see the module docstring).

    ``forward(joints (B, J, 3) box-normalised x̂, ŷ, score, inputs)`` -> ``RefinerOutput``, where
    ``inputs`` are the taps ``[(B, C0, H/16, W/16), (B, C1, H/8, W/8), (B, C2, H/4, W/4)]`` when
    frozen, the crops (B, 3, H, W) when fine-tuned.
    """

    def __init__(self, feature_net: Mapping | nn.Module, refiner: Mapping | nn.Module, fine_tune: bool = False):
        super().__init__()
        self.fine_tune = bool(fine_tune)
        # The refiner first: its initialisation draws from the global generator before the
        # feature network's does, so a seed gives the weights it gave before this class existed.
        self.refiner = refiner if isinstance(refiner, nn.Module) else build(REFINERS, refiner, "model.refiner")
        net = feature_net if isinstance(feature_net, nn.Module) else build(
            FEATURE_NETS, feature_net, "model.feature_net")
        if self.fine_tune:
            # channels-last: the refiner's decoder works in that layout, and the feature network's
            # convolutions train ~10 % faster that way on CPU
            self.generator = _Generator(net.to(memory_format=torch.channels_last))
        else:
            net.eval().requires_grad_(False)
            self._frozen = (net,)  # a tuple: not a submodule, so not in parameters() or state_dict()

    @property
    def feature_net(self) -> nn.Module:
        return self.generator.model.pyranet if self.fine_tune else self._frozen[0]

    def _apply(self, fn, recurse=True):
        # .to() / .cuda() / .half() move the frozen feature network along with the module
        super()._apply(fn, recurse)
        if not self.fine_tune:
            self._frozen[0]._apply(fn, recurse)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        if not self.fine_tune:
            self._frozen[0].eval()  # frozen: BatchNorm statistics stay those of its weights file
        return self

    def forward(self, joints: Tensor, inputs: Tensor | Sequence[Tensor]):
        taps = list(self.feature_net(inputs).features) if self.fine_tune else inputs
        return self.refiner(joints, taps)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_state(self) -> dict[str, Tensor]:
        """What ``<epoch>.pth`` / ``best_checkpoint.pth`` hold: the refiner's state dict (the
        original's format) when frozen; ``refiner.*`` + ``generator.model.pyranet.*`` when fine-tuned."""
        return self.state_dict() if self.fine_tune else self.refiner.state_dict()

    def load_checkpoint(self, path_or_state) -> None:
        """Load a checkpoint of this project or of the original (the refiner's key names are mapped,
        ``module.`` prefixes removed). Raises CheckpointError (one line) when it does not fit."""
        if not self.fine_tune:
            load_refiner_checkpoint(self.refiner, path_or_state)
            return
        source, state = read_checkpoint(path_or_state, "fine-tuned checkpoint")
        if not isinstance(state, Mapping):
            raise CheckpointError(f"{source}: expected a state dict, got {type(state).__name__}")
        net_state = {k[len(FEATURE_NET_PREFIX):]: v for k, v in state.items() if k.startswith(FEATURE_NET_PREFIX)}
        if not net_state:
            raise CheckpointError(f"{source}: no '{FEATURE_NET_PREFIX}*' entries: not a fine-tuned (Alpha) "
                                  "checkpoint; set model.fine_tune=False for a refiner-only checkpoint")
        # the original saved the refiner's keys at the top level, this project under 'refiner.'
        refiner_state = {(k[len(REFINER_PREFIX):] if k.startswith(REFINER_PREFIX) else k): v
                         for k, v in state.items() if not k.startswith(FEATURE_NET_PREFIX)}
        missing, unexpected = self.feature_net.load_state_dict(net_state, strict=False)
        if missing or unexpected:
            key = (missing or unexpected)[0]
            raise CheckpointError(f"{source}: feature network entry {FEATURE_NET_PREFIX}{key} is "
                                  f"{'missing' if missing else 'unexpected'}")
        load_refiner_checkpoint(self.refiner, refiner_state)


def build_model(model_cfg: Mapping, feature_net: nn.Module | None = None) -> TopDownRefiner:
    """The model of a config's ``model`` field (a ``MODELS`` part); ``feature_net`` replaces the
    configured feature network by a module already built (its config must still describe it)."""
    cfg = dict(model_cfg)
    if feature_net is not None:
        cfg["feature_net"] = feature_net
    return build(MODELS, cfg, "model")
