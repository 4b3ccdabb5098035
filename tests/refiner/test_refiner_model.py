"""OPECNet as a module: dtypes, autocast, batch of 1, other joint counts, input checks, init."""
from __future__ import annotations

import pytest
import torch

from opec.refiner import OPECNet, opec_loss


def inputs(batch, num_joints=12, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    joints = torch.rand(batch, num_joints, 3, generator=g) * 2 - 1
    taps = [torch.rand(batch, c, h, w, generator=g) for c, h, w in ((512, 20, 16), (256, 40, 32), (128, 80, 64))]
    return joints.to(dtype), [t.to(dtype) for t in taps]


@pytest.fixture(scope="module", params=["integral", "fc"])
def model(request):
    torch.manual_seed(0)
    return OPECNet(point_head=request.param).eval()


def test_output_shapes_and_frames(model):
    joints, taps = inputs(2)
    with torch.no_grad():
        out = model(joints, taps)
    assert len(out.stages) == 3 and all(s.shape == (2, 12, 2) for s in out.stages)
    assert out.points.shape == (2, 12, 2)
    if not hasattr(model.point_head, "fc1"):  # soft-argmax stays inside [-1, 1 - 2/size]
        assert out.points.min() >= -1 and out.points[..., 0].max() <= 1 - 2 / 64 + 1e-6


def test_batch_of_one_in_eval_mode_matches_the_batch(model):
    joints, taps = inputs(3)
    with torch.no_grad():
        full = model(joints, taps)
        single = model(joints[1:2], [t[1:2] for t in taps])
    torch.testing.assert_close(single.stages[-1], full.stages[-1][1:2], atol=1e-4, rtol=1e-4)


def test_double_precision(model):
    joints, taps = inputs(2)
    with torch.no_grad():
        ref = model(joints, taps)
        out = model.double()(joints.double(), [t.double() for t in taps])
    model.float()
    assert out.stages[-1].dtype == torch.float64
    torch.testing.assert_close(out.stages[-1], ref.stages[-1].double(), atol=1e-3, rtol=1e-3)


def test_cpu_autocast_bf16_forward_and_backward(model):
    joints, taps = inputs(2)
    target = torch.cat([torch.rand(2, 12, 2), torch.ones(2, 12, 1)], dim=-1)
    model.train()
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(joints, taps)
            loss, _ = opec_loss(out, target)
        loss.backward()
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()
    assert torch.isfinite(loss) and loss.dtype == torch.float32


def test_other_joint_counts_build_and_run():
    edges = [(i, i + 1) for i in range(13)]
    model = OPECNet(num_joints=14, edges=edges, point_head="fc").eval()
    assert model.feature_adaptation.heatmap_conv.out_channels == 14
    assert model.gcn.blocks[0].attention.squeeze[2].out_features == 14
    joints, taps = inputs(2, num_joints=14)
    with torch.no_grad():
        out = model(joints, taps)
    assert out.stages[-1].shape == (2, 14, 2) and out.points.shape == (2, 14, 2)


def test_bad_inputs_give_one_line_errors(model):
    joints, taps = inputs(2)
    with pytest.raises(ValueError, match=r"joints must be \(B, 12, 3\)"):
        model(joints[:, :11], taps)
    with pytest.raises(ValueError, match=r"features\[1\] must be \(B=2, 256, H, W\)"):
        model(joints, [taps[0], taps[2], taps[2]])
    with pytest.raises(ValueError, match="point_head must be one of"):
        OPECNet(point_head="argmax")


def test_initialisation_follows_the_original():
    torch.manual_seed(0)
    model = OPECNet(point_head="fc")
    decoder = model.feature_adaptation
    for conv in (decoder.conv16, decoder.conv8, decoder.conv4, decoder.heatmap_conv):
        assert torch.all(conv.bias == 0)
        fan_out = conv.out_channels * 9  # Kaiming-normal, fan_out, ReLU gain: std sqrt(2/fan_out)
        assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.15)
    for linear in (decoder.fuse8.squeeze, model.point_head.fc1):
        assert torch.all(linear.bias == 0)
        assert linear.weight.abs().max() <= (3 / linear.in_features) ** 0.5
    for bn in (model.gcn.input_block.bn, model.gcn.blocks[3].bn):
        assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    assert all(torch.all(head.e == 1) for head in model.gcn.stage_heads)


def test_parameter_counts_of_the_original():
    # SemGCN_Attention 4,111,698 and SemGCN_FC 10,407,252 parameters (spec §18).
    assert sum(p.numel() for p in OPECNet().parameters()) == 4_111_698
    assert sum(p.numel() for p in OPECNet(point_head="fc").parameters()) == 10_407_252


@pytest.mark.parametrize("point_head", ["integral", "fc"])
def test_gradient_matches_finite_differences(point_head):
    # A tiny float64 model: the autograd directional derivative of the loss along a random
    # parameter direction equals a central finite difference (no detached or in-place errors).
    torch.manual_seed(0)
    model = OPECNet(num_joints=5, edges=[(0, 1), (1, 2), (2, 3), (3, 4)], hid_dim=8, point_head=point_head,
                    tap_channels=(8, 8, 4), heatmap_size=(12, 8)).double().train()
    g = torch.Generator().manual_seed(1)
    joints = (torch.rand(4, 5, 3, generator=g) * 2 - 1).double()
    taps = [torch.rand(4, c, h, w, generator=g).double() for c, h, w in ((8, 3, 2), (8, 6, 4), (4, 12, 8))]
    target = torch.cat([torch.rand(4, 5, 2, generator=g) * 2 - 1, torch.ones(4, 5, 1)], dim=-1).double()
    params = [p for p in model.parameters()]
    direction = [torch.randn(p.shape, generator=g).double() for p in params]

    loss, _ = opec_loss(model(joints, taps), target)
    grads = torch.autograd.grad(loss, params)
    analytic = sum((gr * d).sum() for gr, d in zip(grads, direction)).item()

    def loss_at(step):
        with torch.no_grad():
            for p, d in zip(params, direction):
                p.add_(step * d)
            value = opec_loss(model(joints, taps), target)[0].item()
            for p, d in zip(params, direction):
                p.sub_(step * d)
        return value

    # Piecewise smooth (ReLU, L1, bilinear cells): a step may cross a kink, so the closest of three
    # step sizes must agree; a wrong gradient agrees at none.
    errors = [abs((loss_at(h) - loss_at(-h)) / (2 * h) - analytic) for h in (1e-6, 1e-7, 1e-8)]
    assert min(errors) <= 1e-6 * abs(analytic), (analytic, errors)
