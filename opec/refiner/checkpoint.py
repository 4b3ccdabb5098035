"""Loading refiner weights, including checkpoints saved by the original OPEC-Net code.

The original names its modules ``heat_map_generator``, ``gconv_input``, ``gconv_layers1..4``,
``gconv_output1..3`` and ``FC``; this project uses the paper's structure (``feature_adaptation``,
``gcn.input_block``, ``gcn.blocks.0..3``, ``gcn.stage_heads.0..2``, ``point_head``). The tensors
are the same, so a checkpoint converts by renaming keys only:

* :func:`original_to_new_key` / :func:`new_to_original_key` map one key either way.
* :func:`original_keys_pre_hook` is registered on :class:`~opec.refiner.opec_net.OPECNet`, so
  ``model.load_state_dict(original_state_dict)`` works directly.
* :func:`load_refiner_checkpoint` loads a file or a state dict (either naming) strictly, with a
  one-line error naming the first mismatching key and both shapes.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping

import torch
from torch import Tensor, nn


class CheckpointError(ValueError):
    """A refiner checkpoint does not fit the model (one-line message)."""


# (original prefix, this project's prefix); ``{i}`` is the original's 1-based index and the
# project's 0-based one. More specific rules come first.
_RULES = (
    ("heat_map_generator.level_conv1_1.", "feature_adaptation.conv16."),
    ("heat_map_generator.level_conv1_up.", "feature_adaptation.up16."),
    ("heat_map_generator.attention_conv1_up_a.channel_attention.fc.0.", "feature_adaptation.fuse8.squeeze."),
    ("heat_map_generator.attention_conv1_up_a.channel_attention.fc.2.", "feature_adaptation.fuse8.excite."),
    ("heat_map_generator.level_conv2_1.", "feature_adaptation.conv8."),
    ("heat_map_generator.level_conv2_up.", "feature_adaptation.up8."),
    ("heat_map_generator.attention_conv2_up_a.channel_attention.fc.0.", "feature_adaptation.fuse4.squeeze."),
    ("heat_map_generator.attention_conv2_up_a.channel_attention.fc.2.", "feature_adaptation.fuse4.excite."),
    ("heat_map_generator.level_conv3_1.", "feature_adaptation.conv4."),
    ("heat_map_generator.level_conv_out.", "feature_adaptation.heatmap_conv."),
    ("gconv_input.", "gcn.input_block."),
    ("gconv_layers{i}.gconv2.gconv.", "gcn.blocks.{i}.gconv2."),
    ("gconv_layers{i}.", "gcn.blocks.{i}."),
    ("gconv_output{i}.", "gcn.stage_heads.{i}."),
    ("FC.0.0.", "point_head.fc1."),
    ("FC.1.0.", "point_head.fc2."),
    ("FC.2.", "point_head.out."),
)


def _pattern(template: str) -> re.Pattern:
    return re.compile(re.escape(template).replace(re.escape("{i}"), r"(\d+)"))


_FORWARD = tuple((_pattern(old), new) for old, new in _RULES)
_BACKWARD = tuple((_pattern(new), old) for old, new in _RULES)


def _rename(key: str, rules, index_shift: int) -> str:
    for pattern, template in rules:
        match = pattern.match(key)
        if match:
            head = template.replace("{i}", str(int(match.group(1)) + index_shift)) if match.groups() else template
            return head + key[match.end():]
    return key


def original_to_new_key(key: str) -> str:
    """``'gconv_layers2.gconv2.gconv.W'`` -> ``'gcn.blocks.1.gconv2.W'``; other keys unchanged."""
    return _rename(key, _FORWARD, -1)


def new_to_original_key(key: str) -> str:
    """Inverse of :func:`original_to_new_key`."""
    return _rename(key, _BACKWARD, +1)


def original_keys_pre_hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
                           unexpected_keys, error_msgs) -> None:
    """``load_state_dict`` pre-hook: renames the original's keys under ``prefix`` in place.

    (``load_state_dict`` works on its own copy of the caller's dict, so the caller's is untouched.)
    """
    for key in [k for k in state_dict if k.startswith(prefix)]:
        new = prefix + original_to_new_key(key[len(prefix):])
        if new != key:
            if new in state_dict:
                error_msgs.append(f"both {key!r} and {new!r} are present (original and new name of one tensor)")
                continue
            state_dict[new] = state_dict.pop(key)


def _unwrap(obj, source: str) -> Mapping[str, Tensor]:
    """The state dict inside a loaded checkpoint (plain, or under ``'state_dict'``/``'model'``)."""
    if isinstance(obj, Mapping) and obj and not all(isinstance(v, Tensor) for v in obj.values()):
        for field in ("state_dict", "model"):
            if isinstance(obj.get(field), Mapping):
                return _unwrap(obj[field], source)
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise CheckpointError(f"{source}: expected a state dict (names -> tensors), got {type(obj).__name__}")
    keys = list(obj)
    if keys and all(k.startswith("module.") for k in keys):  # saved from a (Distributed)DataParallel
        return {k[len("module."):]: v for k, v in obj.items()}
    return obj


def read_checkpoint(path_or_state, what: str = "checkpoint") -> tuple[str, object]:
    """(source, contents) of a ``torch.save`` file read with ``weights_only=True`` onto the CPU, or
    ("state dict", the object itself). FileNotFoundError for a missing file; CheckpointError (one
    line) for a file torch cannot read safely -- never the advice to load it with
    ``weights_only=False``, which must not be followed for a file of unknown origin."""
    if not isinstance(path_or_state, (str, os.PathLike)):
        return "state dict", path_or_state
    source = os.fspath(path_or_state)
    if not os.path.isfile(source):
        raise FileNotFoundError(f"{source}: {what} not found")
    try:
        return source, torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files, a darknet .weights file, pickles with code, ...
        raise CheckpointError(f"{source}: not a readable PyTorch {what} (truncated, or another kind of "
                              f"file; {type(exc).__name__})") from exc


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def load_refiner_checkpoint(model: nn.Module, path_or_state_dict) -> nn.Module:
    """Load weights into ``model`` strictly; returns ``model``.

    ``path_or_state_dict``: a path to a ``torch.save`` file (read with ``weights_only=True`` onto the
    CPU) or a state dict; either the original OPEC-Net key names or this project's. A checkpoint
    holding ``{'state_dict': ...}`` or ``{'model': ...}``, or keys prefixed ``module.``, is unwrapped.
    BatchNorm ``num_batches_tracked`` may be absent (checkpoints of PyTorch 0.4.0); it becomes 0.

    Raises FileNotFoundError for a missing file and CheckpointError (one line) naming the first
    mismatching key with both shapes, a missing key, or an unexpected key.
    """
    source, loaded = read_checkpoint(path_or_state_dict, "refiner checkpoint")
    state = _unwrap(loaded, source)

    expected = model.state_dict()
    converted: dict[str, Tensor] = {}
    for key, tensor in state.items():
        new = original_to_new_key(key)
        if new in converted:
            raise CheckpointError(f"{source}: key {key!r} duplicates {new!r} (original and new name of one tensor)")
        named = f"{key!r}" if new == key else f"{key!r} (= {new!r})"
        if new not in expected:
            raise CheckpointError(f"{source}: unexpected key {named} with shape {_shape(tensor)}; the model has no such tensor")
        if _shape(tensor) != _shape(expected[new]):
            raise CheckpointError(
                f"{source}: key {named} has shape {_shape(tensor)} but the model expects {_shape(expected[new])}"
            )
        converted[new] = tensor
    for key, tensor in expected.items():
        if key in converted:
            continue
        if key.endswith(".num_batches_tracked"):
            converted[key] = torch.zeros_like(tensor)
            continue
        original = new_to_original_key(key)
        also = f" (original name {original!r})" if original != key else ""
        raise CheckpointError(f"{source}: missing key {key!r}{also} of shape {_shape(tensor)}")
    model.load_state_dict(converted, strict=True)
    return model
