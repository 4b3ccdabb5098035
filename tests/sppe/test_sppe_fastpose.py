"""FastPose structure and the inference fusion, on small inputs (independent of ../shared).
Every forward uses the same (2, 3, 64, 96) shape so that oneDNN's kernels are generated once."""
from __future__ import annotations

import copy
import shutil

import pytest
import torch
from torch import nn

from opec.keypoints import COCO17
from opec.sppe import FastPose, compile_for_inference, flip_test, fuse_for_inference
from opec.sppe.fusion import FusedConv


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(3)
    net = FastPose()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):  # non-trivial statistics so that folding matters
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.1)
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    return net.eval()


def test_output_shapes_scale_with_the_input(model):
    x = torch.randn(2, 3, 64, 96)
    with torch.inference_mode():
        out = model(x)
    assert out.heatmaps.shape == (2, COCO17.num_joints, 16, 24)
    assert [tuple(f.shape) for f in out.features] == [(2, 512, 4, 6), (2, 256, 8, 12), (2, 128, 16, 24)]
    assert all(f.min() >= 0 for f in out.features)


def test_se_placement_and_strides(model):
    for layer, stride in zip((model.preact.layer1, model.preact.layer2, model.preact.layer3, model.preact.layer4),
                             (1, 2, 2, 2)):
        assert layer[0].se is not None and layer[0].downsample is not None
        assert all(block.se is None and block.downsample is None for block in layer[1:])
        assert layer[0].conv2.stride == (stride, stride) and layer[0].conv1.stride == (1, 1)
        width = layer[0].conv3.out_channels
        assert layer[0].se.fc[0].weight.shape == (width, width)  # reduction 1
    assert [len(layer) for layer in (model.preact.layer1, model.preact.layer2,
                                     model.preact.layer3, model.preact.layer4)] == [3, 4, 23, 3]


def test_fused_model_matches(model):
    fused = fuse_for_inference(copy.deepcopy(model))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
    # every convolution runs through FusedConv (oneDNN with ReLU / residual add fused in where available)
    assert not any(isinstance(m, nn.Conv2d) for m in fused.modules())
    num_convs = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    assert sum(isinstance(m, FusedConv) for m in fused.modules()) == num_convs
    x = torch.randn(2, 3, 64, 96)
    with torch.inference_mode():
        plain, fast = model(x), fused(x)
    torch.testing.assert_close(fast.heatmaps, plain.heatmaps, atol=1e-4, rtol=1e-4)
    for a, b in zip(fast.features, plain.features):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_flip_test_of_a_mirror_symmetric_input_is_symmetric(model):
    # For x equal to its own mirror image, flip_test(x) = (hm + swap(flip(hm))) / 2 must equal its own
    # mirrored, left/right-swapped version.
    half = torch.randn(1, 3, 64, 48)
    x = torch.cat([half, half.flip(3)], dim=3)
    with torch.inference_mode():
        heatmaps = flip_test(model, x)
    torch.testing.assert_close(heatmaps, heatmaps[:, COCO17.flip_index()].flip(3), atol=1e-5, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("clang++")), reason="torch.compile needs a C++ compiler")
def test_compiled_model_matches(model):
    compiled = compile_for_inference(copy.deepcopy(model))
    x = torch.randn(2, 3, 64, 96)
    with torch.inference_mode():
        plain, fast = model(x), compiled(x)
    torch.testing.assert_close(fast.heatmaps, plain.heatmaps, atol=1e-4, rtol=1e-4)
    for a, b in zip(fast.features, plain.features):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
