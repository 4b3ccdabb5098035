"""The Darknet convolutions on a CUDA GPU (marker ``cuda``; skipped with "no CUDA device"
elsewhere): the fused oneDNN route is CPU-only, so on CUDA ``Convolutional`` must take the F.conv2d
fallback and equal conv + leaky ReLU; the BN-folded detector network on CUDA equals the CPU one."""
import pytest
import torch

from opec.detection.darknet import Convolutional, Darknet

pytestmark = pytest.mark.cuda


def test_convolutional_on_cuda_equals_conv2d(no_tf32):
    torch.manual_seed(2)
    for size, stride, leaky in [(1, 1, True), (3, 2, True), (3, 1, False)]:
        conv = Convolutional(6, 5, size, stride, pad=True, batch_normalize=False, leaky=leaky).cuda()
        for x in (torch.randn(2, 6, 9, 9), torch.randn(2, 6, 9, 9).contiguous(memory_format=torch.channels_last)):
            x = x.cuda()
            with torch.inference_mode():
                out = conv(x, {})
            expected = torch.nn.functional.conv2d(x, conv.conv.weight, conv.conv.bias, stride, (size - 1) // 2)
            if leaky:
                expected = torch.where(expected > 0, expected, 0.1 * expected)
            torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_folded_network_on_cuda_equals_cpu(tiny_cfg, no_tf32):
    torch.manual_seed(0)
    cpu = Darknet(tiny_cfg).eval().fuse_batchnorm()
    gpu = Darknet(tiny_cfg).eval().fuse_batchnorm()
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.cuda().to(memory_format=torch.channels_last)
    x = torch.rand(2, 3, 64, 64)
    with torch.inference_mode():
        a = cpu(x)
        b = gpu(x.cuda().contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(b.cpu(), a, rtol=1e-4, atol=1e-4 * float(a.abs().max()))
