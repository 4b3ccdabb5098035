"""FastPose and its fused inference convolutions on a CUDA GPU (marker ``cuda``; skipped with "no
CUDA device" elsewhere): on CUDA FusedConv takes its F.conv2d fallback and must equal F.conv2d + add
+ ReLU; the whole fused FastPose on CUDA equals the plain CPU model. TF32 off: true float32."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from opec.sppe import build_sppe
from opec.sppe.fusion import FusedConv

pytestmark = pytest.mark.cuda


@pytest.mark.parametrize("with_residual", [False, True])
@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_fused_conv_fallback_on_cuda_equals_conv2d(with_residual, memory_format, no_tf32):
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3, 1, padding=1).requires_grad_(False).cuda()
    fused = FusedConv(conv, relu=True)
    x = torch.randn(2, 16, 12, 10, device="cuda").contiguous(memory_format=memory_format)
    residual = torch.randn(2, 32, 12, 10, device="cuda") if with_residual else None
    expected = F.conv2d(x, conv.weight, conv.bias, 1, 1)
    if residual is not None:
        expected = expected + residual
    expected = expected.clamp_min(0)
    with torch.inference_mode():
        out = fused(x, residual)
    assert out.device.type == "cuda" and not fused._packed  # the oneDNN route is CPU-only
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_fused_fastpose_on_cuda_equals_the_cpu_model(no_tf32):
    torch.manual_seed(0)
    cpu = build_sppe(weights=None, device="cpu")
    gpu = build_sppe(weights=cpu.state_dict(), device="cuda", fuse=True)
    crops = torch.rand(2, 3, 320, 256)
    with torch.inference_mode():
        a = cpu(crops)
        b = gpu(crops.cuda().contiguous(memory_format=torch.channels_last))
    # Random weights give outputs of O(0.01-0.05); on the CPU the fused and plain models differ by
    # at most 2e-6 of each output's largest value. Allowed on CUDA: 1e-4 of it.
    for got, want in zip([b.heatmaps, *b.features], [a.heatmaps, *a.features]):
        torch.testing.assert_close(got.cpu(), want, rtol=1e-4, atol=1e-4 * float(want.abs().max()))
