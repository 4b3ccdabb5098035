"""FusedConv (oneDNN conv from prepacked weights with ReLU / residual add + ReLU fused in) against
F.conv2d + add + relu on random weights, on both of its paths; small shapes, independent of ../shared."""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from opec.sppe import fusion
from opec.sppe.fusion import FusedConv

needs_onednn = pytest.mark.skipif(fusion._PREPACKED is None, reason="this torch build has no usable oneDNN fused conv")


def _reference(conv: nn.Conv2d, x, residual, relu):
    out = F.conv2d(x, conv.weight, conv.bias, conv.stride, conv.padding)
    if residual is not None:
        out = out + residual
    return out.clamp_min(0) if relu else out


CASES = [  # in, out, kernel, stride, residual, relu
    (16, 32, 1, 1, False, True),
    (16, 32, 3, 1, True, True),
    (16, 24, 3, 2, False, False),
    (16, 32, 1, 2, True, True),
    (8, 5, 3, 1, False, False),
    (8, 16, 3, 1, True, False),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("batch", [1, 3])
def test_fused_conv_equals_conv_add_relu(case, batch):
    cin, cout, k, stride, with_residual, relu = case
    torch.manual_seed(batch)
    conv = nn.Conv2d(cin, cout, k, stride, padding=k // 2).requires_grad_(False)
    fused = FusedConv(conv, relu=relu)
    x = torch.randn(batch, cin, 12, 10)
    out_hw = ((12 + 2 * (k // 2) - k) // stride + 1, (10 + 2 * (k // 2) - k) // stride + 1)
    residual = torch.randn(batch, cout, *out_hw) if with_residual else None
    expected = _reference(conv, x, residual, relu)
    for memory_format in (torch.contiguous_format, torch.channels_last):
        xm = x.contiguous(memory_format=memory_format)
        rm = None if residual is None else residual.contiguous(memory_format=memory_format)
        with torch.inference_mode():
            out = fused(xm, rm)
        assert out.shape == expected.shape
        torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    if relu:
        assert (out >= 0).all() and (expected == 0).any()  # the ReLU had something to clip
    # the fallback (autograd) path gives the same values and gradients flow
    x_grad = x.clone().requires_grad_()
    out = fused(x_grad, residual)
    torch.testing.assert_close(out.detach(), expected, atol=1e-5, rtol=1e-5)
    out.sum().backward()
    assert x_grad.grad is not None and x_grad.grad.abs().sum() > 0


@needs_onednn
def test_prepacked_weights_per_shape_class_and_refreshed_after_a_weight_change():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 16, 3, padding=1).requires_grad_(False)
    fused = FusedConv(conv, relu=False)
    with torch.inference_mode():
        for batch in (1, 1, 2, 4):
            fused(torch.randn(batch, 8, 6, 6))
        fused(torch.randn(1, 8, 5, 7))
    # batch 1: one packing per input shape; larger batches share one
    assert set(fused._packed) == {(1, 8, 6, 6), (1, 8, 5, 7), None}
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        conv.weight.mul_(-2)  # in place: the packed copies are stale now
    with torch.inference_mode():
        out = fused(x)
    torch.testing.assert_close(out, _reference(conv, x, None, False), atol=1e-5, rtol=1e-5)
    assert set(fused._packed) == {None}


def test_copies_leave_the_prepacked_cache_behind():
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 8, 3, padding=1).requires_grad_(False)
    fused = FusedConv(conv, relu=True)
    x = torch.randn(1, 4, 6, 6)
    with torch.inference_mode():
        expected = fused(x)
    clone = copy.deepcopy(fused)  # oneDNN's packed tensors have no storage to copy
    assert clone._packed == {}
    with torch.inference_mode():
        torch.testing.assert_close(clone(x), expected, atol=0, rtol=0)
