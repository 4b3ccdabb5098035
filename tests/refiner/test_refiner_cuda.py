"""The refiner on a CUDA GPU (marker ``cuda``; skipped with "no CUDA device" elsewhere): forward and
backward equal to the CPU's, and joint sampling under float16 / bfloat16 autocast keeps positions in
float32. TF32 is switched off so that CUDA computes in true float32."""
import pytest
import torch
from torch.nn import functional as F

from opec.refiner import build_refiner
from opec.refiner.joint_sampling import sample_at_points

pytestmark = pytest.mark.cuda


def _inputs(batch=3):
    """Box-normalised joints (B,12,3) and FastPose-shaped taps of a 320x256 crop."""
    g = torch.Generator().manual_seed(0)
    joints = torch.cat([torch.rand(batch, 12, 2, generator=g) * 2 - 1, torch.rand(batch, 12, 1, generator=g)], -1)
    taps = [torch.randn(batch, c, h, w, generator=g) for c, h, w in ((512, 20, 16), (256, 40, 32), (128, 80, 64))]
    return joints, taps


@pytest.mark.parametrize("head", ["integral", "fc"])
def test_forward_and_backward_on_cuda_equal_cpu(head, no_tf32):
    torch.manual_seed(0)
    cpu = build_refiner(dict(type="OPECNet", point_head=head, num_joints=12, hid_dim=128)).train()
    gpu = build_refiner(dict(type="OPECNet", point_head=head, num_joints=12, hid_dim=128)).train()
    gpu.load_state_dict(cpu.state_dict())
    gpu.cuda()
    joints, taps = _inputs()
    results = []
    for model, device in ((cpu, "cpu"), (gpu, "cuda")):
        out = model(joints.to(device), [t.to(device) for t in taps])
        loss = sum(s.square().sum() for s in out.stages) + out.points.square().sum()
        loss.backward()
        results.append(([s.detach().cpu() for s in out.stages] + [out.points.detach().cpu()],
                        {k: p.grad.cpu() for k, p in model.named_parameters() if p.grad is not None}))
    (out_cpu, grad_cpu), (out_gpu, grad_gpu) = results
    for a, b in zip(out_gpu, out_cpu):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    assert grad_cpu.keys() == grad_gpu.keys() and grad_cpu
    for name in grad_cpu:
        torch.testing.assert_close(grad_gpu[name], grad_cpu[name], rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_joint_sampling_under_cuda_autocast(dtype):
    g = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv2d(3, 8, 1).cuda()
    image = torch.randn(2, 3, 80, 64, generator=g).cuda()
    points = torch.tensor([[[0.9, 0.9], [0.9 + 2 / 63 / 1000, 0.9]]] * 2).cuda()
    with torch.autocast("cuda", dtype=dtype):
        feature_map = conv(image)
        assert feature_map.dtype == dtype
        ours = sample_at_points(feature_map, points)
    assert ours.dtype == torch.float32
    expected = F.grid_sample(feature_map.detach().double(), points.double()[:, None], align_corners=True)
    expected = expected[:, :, 0].transpose(1, 2)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-5, atol=3e-5)
    assert (ours[:, 0] - ours[:, 1]).abs().max() > 0
