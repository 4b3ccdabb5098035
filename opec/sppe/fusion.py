"""Inference-only speed-ups for a frozen FastPose (outputs equal the plain model's up to float
rounding, ~1e-5 of O(10) heatmaps):

* :func:`fuse_for_inference` -- eager: BatchNorm folded into the preceding convolution, channels_last,
  and every convolution a :class:`FusedConv`: on CPU one oneDNN call with the ReLU and, in the
  bottlenecks, the residual add fused in, from weights reordered once into oneDNN's blocked layout
  (eager PyTorch reorders them at every call: at batch 1 that costs more than a third of the time of
  the 1x1 and strided convolutions). After folding the state dict no longer has the BN keys: load
  weights first.
* :func:`compile_for_inference` -- ``torch.compile`` with Inductor freezing (weights as constants:
  BN folding, prepacked oneDNN weights, conv + ReLU / residual-add fusion). Every new input shape
  compiles first (about 40 s for 320x256 on 2 CPU cores).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from opec.onednn import CONV_POINTWISE
from opec.sppe.duc import DUC
from opec.sppe.fastpose import FastPose
from opec.sppe.se_resnet import Bottleneck, SEResNet

_PAIRS = {Bottleneck: (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")),
          SEResNet: (("conv1", "bn1"),), DUC: (("conv", "bn"),)}


def _onednn_prepacked():
    """(unary op, binary op, weight reorder) when this torch build runs the oneDNN conv from a
    prepacked weight, with ReLU and with residual add + ReLU (private ops: checked on a 1x1 conv
    of ones), else None."""
    if CONV_POINTWISE is None:
        return None
    try:
        binary = torch.ops.mkldnn._convolution_pointwise.binary
        reorder = torch._C._nn.mkldnn_reorder_conv2d_weight
        one = torch.ones(1, 1, 1, 1)
        packed = reorder(one.to_mkldnn(), [0, 0], [1, 1], [1, 1], 1, [1, 1, 1, 1])
        args = (packed, None, [0, 0], [1, 1], [1, 1], 1)
        ok = (CONV_POINTWISE(-one, *args, "relu", [], "").item() == 0
              and binary(one, -3 * one, *args, "add", None, "relu", [], "").item() == 0
              and binary(one, one, *args, "add", None, "relu", [], "").item() == 2)
    except (RuntimeError, TypeError, AttributeError):
        ok = False
    return (CONV_POINTWISE, binary, reorder) if ok else None


_PREPACKED = _onednn_prepacked()


class FusedConv(nn.Module):
    """Convolution (+ bias) [+ residual] [-> ReLU] of a frozen network.

    x (B, C_in, H, W) -> (B, C_out, H', W'); ``residual`` (B, C_out, H', W') is added before the ReLU.
    On CPU in float32 without autograd it is one oneDNN call from a weight reordered once per input
    shape class (see :meth:`_packed_weight`); elsewhere F.conv2d, add and ReLU. ``weight``/``bias``
    stay ordinary parameters (``state_dict``, ``.to()``); the reordered copies are a cache that is
    rebuilt when the weight changes. It costs one extra copy of the weights per shape class.
    """

    def __init__(self, conv: nn.Conv2d, relu: bool):
        super().__init__()
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"FusedConv: expected numeric zero padding, got {conv.padding!r} ({conv.padding_mode})")
        self.weight, self.bias = conv.weight, conv.bias
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups
        self.relu = relu
        self._packed: dict = {}
        self._packed_version = None

    def __getstate__(self):  # copies leave the cache behind (oneDNN's packed tensors have no storage)
        state = self.__dict__.copy()
        state["_packed"], state["_packed_version"] = {}, None
        return state

    def _packed_weight(self, shape: torch.Size):
        # oneDNN picks the blocked weight layout from the input shape. At batch 1 the layout chosen
        # without a shape makes e.g. the 1x1 256->1024 conv at 20x16 ten times slower, so batch 1 is
        # packed per input shape; for larger batches the shape-free layout is as fast as a
        # shape-specific one (measured at batch 8), so they share one copy.
        version = (self.weight.data_ptr(), self.weight._version)
        if version != self._packed_version:
            self._packed, self._packed_version = {}, version
        key = tuple(shape) if shape[0] == 1 else None
        packed = self._packed.get(key)
        if packed is None:
            reorder = _PREPACKED[2]
            packed = reorder(self.weight.detach().contiguous().to_mkldnn(), list(self.padding), list(self.stride),
                             list(self.dilation), self.groups, list(shape) if key else None)
            self._packed[key] = packed
        return packed

    def _use_onednn(self, x: torch.Tensor, residual: torch.Tensor | None) -> bool:
        tensors = (x, self.weight) if residual is None else (x, self.weight, residual)
        return (_PREPACKED is not None and all(t.device.type == "cpu" and t.dtype == torch.float32 for t in tensors)
                and not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors)))

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        if self._use_onednn(x, residual):
            unary, binary, _ = _PREPACKED
            args = (self._packed_weight(x.shape), self.bias, list(self.padding), list(self.stride),
                    list(self.dilation), self.groups)
            if residual is None:
                return unary(x, *args, "relu" if self.relu else "none", [], "")
            return binary(x, residual, *args, "add", None, "relu" if self.relu else None, [], "")
        out = F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        if residual is not None:
            out = out + residual
        return F.relu(out) if self.relu else out


class FusedBottleneck(nn.Module):
    """A folded :class:`~opec.sppe.se_resnet.Bottleneck` on :class:`FusedConv`: conv1 + ReLU,
    conv2 + ReLU, then conv3 + residual + ReLU -- or, in the SE blocks, conv3, SE, and the
    projection shortcut's conv + (SE output) + ReLU. Same (B, C, H, W) -> (B, 4 planes, H/s, W/s)."""

    def __init__(self, block: Bottleneck):
        super().__init__()
        if (block.se is None) != (block.downsample is None):
            raise ValueError("FusedBottleneck: FastPose's SE blocks are exactly its projection blocks")
        self.conv1 = FusedConv(block.conv1, relu=True)
        self.conv2 = FusedConv(block.conv2, relu=True)
        self.se = block.se
        self.conv3 = FusedConv(block.conv3, relu=self.se is None)
        self.downsample = None if self.se is None else FusedConv(block.downsample[0], relu=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        if self.se is None:
            return self.conv3(out, residual=x)
        return self.downsample(x, residual=self.se(self.conv3(out)))  # SE blocks are the projection blocks


def _fold(module: nn.Module, conv_name: str, bn_name: str) -> None:
    bn = getattr(module, bn_name)
    if isinstance(bn, nn.BatchNorm2d):
        setattr(module, conv_name, fuse_conv_bn_eval(getattr(module, conv_name), bn))
        setattr(module, bn_name, nn.Identity())


def fuse_for_inference(model: FastPose) -> FastPose:
    """Fold every BatchNorm of ``model`` (put in eval mode) into its conv, switch to channels_last and
    run every conv as a :class:`FusedConv` (ReLU / residual add fused in). In place; returns
    ``model`` with ``requires_grad`` off. Not for training (the BN statistics are gone)."""
    model.eval()
    for module in model.modules():
        for conv_name, bn_name in _PAIRS.get(type(module), ()):
            _fold(module, conv_name, bn_name)
        if isinstance(module, Bottleneck) and module.downsample is not None:
            _fold(module.downsample, "0", "1")
    model = model.to(memory_format=torch.channels_last)
    preact = model.preact
    if isinstance(preact.conv1, nn.Conv2d):  # not fused yet
        preact.conv1, preact.relu = FusedConv(preact.conv1, relu=True), nn.Identity()
        for name in ("layer1", "layer2", "layer3", "layer4"):
            setattr(preact, name, nn.Sequential(*(FusedBottleneck(block) for block in getattr(preact, name))))
        for duc in (model.duc1, model.duc2):
            duc.conv, duc.relu = FusedConv(duc.conv, relu=True), nn.Identity()
        model.conv_out = FusedConv(model.conv_out, relu=False)
    return model.requires_grad_(False)


def compile_for_inference(model: FastPose) -> nn.Module:
    """``torch.compile`` of ``model`` (put in eval mode) with Inductor freezing and static shapes.
    Call the result under ``torch.inference_mode()`` / ``no_grad``; not for training."""
    return torch.compile(model.eval(), dynamic=False, options={"freezing": True})
