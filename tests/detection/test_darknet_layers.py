"""Darknet layers on hand-made inputs: zero-padded SPP max-pool, nearest upsample, yolo decode, BN folding."""
import math

import pytest
import torch

from opec.detection import Darknet
from opec.detection.darknet import Convolutional, MaxPool, Upsample, YOLOLayer


def test_stride1_maxpool_pads_with_zeros():
    x = torch.full((1, 1, 7, 7), -5.0)
    x[0, 0, 3, 3] = -1.0
    out = MaxPool(5, 1)(x, {})
    assert out.shape == x.shape
    # windows fully inside the map (centres 2..4) see only negatives; every other window touches padding
    expected = torch.zeros(7, 7)
    expected[2:5, 2:5] = -1.0  # the -1 at (3, 3) is inside each of these windows
    assert torch.equal(out[0, 0], expected)


def test_maxpool_window_larger_than_map_is_all_zero_for_negative_input():
    x = -torch.rand(1, 2, 4, 4) - 0.1
    assert torch.equal(MaxPool(13, 1)(x, {}), torch.zeros_like(x))
    y = x.clone()
    y[0, 1, 2, 1] = 3.0
    out = MaxPool(13, 1)(y, {})
    assert torch.equal(out[0, 0], torch.zeros(4, 4)) and torch.equal(out[0, 1], torch.full((4, 4), 3.0))


def test_strided_maxpool_has_no_padding():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert MaxPool(2, 2)(x, {}).flatten().tolist() == [5.0, 7.0, 13.0, 15.0]


def test_upsample_nearest():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    expected = torch.tensor([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]], dtype=torch.float32)
    assert torch.equal(Upsample(2)(x, {})[0, 0], expected)


def test_yolo_decode_hand_computed():
    # 2 anchors, 1 class, 2x3 grid (H x W) on a 32 x 48 input: stride 16 on both axes
    head = YOLOLayer([(10, 20), (30, 40)], num_classes=1)
    raw = torch.zeros(1, 2 * 6, 2, 3)
    a, gy, gx = 1, 1, 2
    raw[0, a * 6 + 0, gy, gx] = math.log(3.0)  # sigmoid = 0.75
    raw[0, a * 6 + 1, gy, gx] = -math.log(3.0)  # sigmoid = 0.25
    raw[0, a * 6 + 2, gy, gx] = math.log(2.0)  # w = 2 * 30
    raw[0, a * 6 + 4, gy, gx] = 2.0
    raw[0, a * 6 + 5, gy, gx] = -1.0
    pred = head.decode(raw, (32, 48))
    assert pred.shape == (1, 2 * 3 * 2, 6)
    row = pred[0, (gy * 3 + gx) * 2 + a]
    expected = [(0.75 + 2) * 16, (0.25 + 1) * 16, 60.0, 40.0, 1 / (1 + math.exp(-2)), 1 / (1 + math.exp(1))]
    torch.testing.assert_close(row, torch.tensor(expected), rtol=0, atol=1e-5)
    first = pred[0, 0]  # cell (0, 0), anchor 0: all-zero logits
    torch.testing.assert_close(first, torch.tensor([8.0, 8.0, 10.0, 20.0, 0.5, 0.5]))


def test_batchnorm_folding_keeps_outputs(tiny_cfg):
    torch.manual_seed(0)
    model = Darknet(tiny_cfg).eval()
    for _, conv in model.conv_layers():
        if conv.bn is not None:
            conv.bn.running_mean.normal_(0, 0.3)
            conv.bn.running_var.uniform_(0.5, 2.0)
            conv.bn.weight.data.uniform_(0.5, 1.5)
            conv.bn.bias.data.normal_(0, 0.2)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        after = model.fuse_batchnorm()(x)
    assert all(conv.bn is None for _, conv in model.conv_layers())
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-4)


def test_conv_without_bn_has_bias_and_leaky():
    conv = Convolutional(1, 1, 1, 1, pad=True, batch_normalize=False, leaky=True)
    with torch.no_grad():
        conv.conv.weight.fill_(1.0)
        conv.conv.bias.fill_(-1.0)
    out = conv(torch.tensor([[[[0.0, 3.0]]]]), {})
    torch.testing.assert_close(out, torch.tensor([[[[-0.1, 2.0]]]]))


def test_forward_shapes(tiny_cfg):
    model = Darknet(tiny_cfg).eval()
    with torch.no_grad():
        heads = model.heads(torch.rand(1, 3, 64, 64))
        pred = model(torch.rand(3, 3, 64, 64))
    assert [tuple(h.shape) for h in heads] == [(1, 14, 8, 8), (1, 7, 16, 16)]
    assert pred.shape == (3, 8 * 8 * 2 + 16 * 16 * 1, 5 + 2)


def test_inference_path_matches_autograd_path(monkeypatch):
    """Without autograd a BN-free conv takes the fused oneDNN route on CPU (when this PyTorch has it):
    same values as the autograd route, and the spy shows which route ran."""
    from opec.detection import darknet

    if darknet.CONV_POINTWISE is None:
        pytest.skip("this PyTorch build has no oneDNN fused convolution: only the autograd route exists")
    calls = []
    fused = darknet.CONV_POINTWISE
    monkeypatch.setattr(darknet, "CONV_POINTWISE", lambda *args: calls.append(1) or fused(*args))
    torch.manual_seed(2)
    for size, stride, leaky in [(1, 1, True), (3, 2, True), (3, 1, False)]:
        conv = Convolutional(6, 5, size, stride, pad=True, batch_normalize=False, leaky=leaky)
        for x in (torch.randn(2, 6, 9, 9), torch.randn(2, 6, 9, 9).contiguous(memory_format=torch.channels_last)):
            calls.clear()
            with_grad = conv(x, {})
            assert calls == []  # autograd: the plain conv route
            with torch.inference_mode():
                inference = conv(x, {})
            assert calls == [1]  # inference: the fused route
            expected = torch.nn.functional.conv2d(x, conv.conv.weight, conv.conv.bias, stride, (size - 1) // 2)
            if leaky:
                expected = torch.where(expected > 0, expected, 0.1 * expected)
            torch.testing.assert_close(with_grad, expected, rtol=1e-5, atol=1e-5)
            torch.testing.assert_close(inference, expected, rtol=1e-5, atol=1e-5)


def test_backward_through_the_network(tiny_cfg):
    """In-place shortcuts and fused convs are inference-only: with autograd the network still trains."""
    torch.manual_seed(0)
    model = Darknet(tiny_cfg).train()
    model(torch.rand(2, 3, 64, 64)).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with torch.no_grad():
        model.eval()(torch.rand(1, 3, 64, 64))  # the in-place path runs too
