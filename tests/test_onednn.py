"""opec.onednn: the probed fused convolution equals conv2d + activation where this build has it."""
import pytest
import torch
from torch.nn import functional as F

from opec.onednn import CONV_POINTWISE


@pytest.mark.skipif(CONV_POINTWISE is None, reason="this torch build has no oneDNN fused convolution")
@pytest.mark.parametrize("attr, scalars, activation", [
    ("none", [], lambda y: y),
    ("relu", [], torch.relu),
    ("leaky_relu", [0.1], lambda y: F.leaky_relu(y, 0.1)),
])
def test_fused_convolution_equals_conv2d_then_activation(attr, scalars, activation):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 9, 7, generator=generator)
    weight = torch.randn(6, 5, 3, 3, generator=generator)
    bias = torch.randn(6, generator=generator)
    ours = CONV_POINTWISE(x, weight, bias, [1, 1], [2, 2], [1, 1], 1, attr, scalars, "")
    expected = activation(F.conv2d(x, weight, bias, stride=2, padding=1))
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)
