"""Inference-only speed-ups for a frozen FastPose (outputs equal the plain model's up to float
rounding, ~1e-5 of O(10) heatmaps):

* :func:`fuse_for_inference` -- eager: BatchNorm folded into the preceding convolution, channels_last.
  After folding the state dict no longer has the BN keys: load weights first.
* :func:`compile_for_inference` -- ``torch.compile`` with Inductor freezing (weights as constants:
  BN folding, prepacked oneDNN weights, conv + ReLU / residual-add fusion). Fastest, but every new
  input shape compiles first (about 40 s for 320x256 on 2 CPU cores).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from opec.sppe.duc import DUC
from opec.sppe.fastpose import FastPose
from opec.sppe.se_resnet import Bottleneck, SEResNet

_PAIRS = {Bottleneck: (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")),
          SEResNet: (("conv1", "bn1"),), DUC: (("conv", "bn"),)}


def _fold(module: nn.Module, conv_name: str, bn_name: str) -> None:
    bn = getattr(module, bn_name)
    if isinstance(bn, nn.BatchNorm2d):
        setattr(module, conv_name, fuse_conv_bn_eval(getattr(module, conv_name), bn))
        setattr(module, bn_name, nn.Identity())


def fuse_for_inference(model: FastPose) -> FastPose:
    """Fold every BatchNorm of ``model`` (put in eval mode) into its conv and switch to channels_last.
    In place; returns ``model``. Not for training (the BN statistics are gone)."""
    model.eval()
    for module in model.modules():
        for conv_name, bn_name in _PAIRS.get(type(module), ()):
            _fold(module, conv_name, bn_name)
        if isinstance(module, Bottleneck) and module.downsample is not None:
            _fold(module.downsample, "0", "1")
    return model.to(memory_format=torch.channels_last)


def compile_for_inference(model: FastPose) -> nn.Module:
    """``torch.compile`` of ``model`` (put in eval mode) with Inductor freezing and static shapes.
    Call the result under ``torch.inference_mode()`` / ``no_grad``; not for training."""
    return torch.compile(model.eval(), dynamic=False, options={"freezing": True})
