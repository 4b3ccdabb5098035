"""Cascaded feature adaptation: the re-expressed layers equal their textbook definitions."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from opec.refiner.feature_adaptation import ChannelGatedFusion, StrideTwoUpsampling


@pytest.mark.parametrize("channels_last", [False, True])
def test_stride_two_upsampling_equals_transposed_convolution(channels_last):
    torch.manual_seed(0)
    layer = StrideTwoUpsampling(6, 5).double()
    assert isinstance(layer, nn.ConvTranspose2d)
    assert set(layer.state_dict()) == {"weight", "bias"}  # checkpoint keys of the original layer
    x = torch.randn(3, 6, 4, 7, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    ours = layer(x)
    theirs = F.conv_transpose2d(x, layer.weight, layer.bias, stride=2)
    torch.testing.assert_close(ours, theirs, rtol=1e-13, atol=1e-13)
    assert ours.is_contiguous(memory_format=torch.channels_last)

    grad = torch.randn_like(theirs)
    g_ours = torch.autograd.grad(ours, (x, layer.weight, layer.bias), grad)
    g_theirs = torch.autograd.grad(theirs, (x, layer.weight, layer.bias), grad)
    for a, b in zip(g_ours, g_theirs):
        torch.testing.assert_close(a, b, rtol=1e-13, atol=1e-13)


def test_stride_two_upsampling_places_each_pixel_in_its_own_block():
    # One input pixel with value 1, weight[c_in=0, c_out=0] = [[1, 2], [3, 4]], zero bias.
    layer = StrideTwoUpsampling(1, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]]))
        layer.bias.zero_()
    x = torch.zeros(1, 1, 2, 3)
    x[0, 0, 1, 2] = 1.0
    out = layer(x)[0, 0]
    expected = torch.zeros(4, 6)
    expected[2:4, 4:6] = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert torch.equal(out, expected)


def test_channel_gated_fusion_follows_its_formula():
    torch.manual_seed(0)
    fusion = ChannelGatedFusion(4).double()
    x1 = torch.rand(2, 4, 3, 5, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    x2 = torch.rand(2, 4, 3, 5, dtype=torch.float64)
    pooled = torch.cat([x1, x2], dim=1).mean(dim=(2, 3))  # GAP of the concatenation
    gate = torch.sigmoid(fusion.excite(torch.relu(fusion.squeeze(pooled))))
    torch.testing.assert_close(fusion(x1, x2), x1 * gate[:, :, None, None] + x2, rtol=1e-13, atol=1e-13)
