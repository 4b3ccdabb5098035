"""Joint-feature sampling equals torch's grid_sample (bilinear, zero padding), values and gradients."""
import pytest
import torch
from torch.nn import functional as F

from opec.refiner.joint_sampling import JointFeatureSampler, sample_at_points


def _inputs(channels_last: bool):
    generator = torch.Generator().manual_seed(0)
    feature_map = torch.randn(2, 5, 7, 6, generator=generator, dtype=torch.float64)
    if channels_last:
        feature_map = feature_map.contiguous(memory_format=torch.channels_last)
    # Inside, on the border, exactly on pixel centres and outside the map (partly and fully).
    points = torch.rand(2, 9, 2, generator=generator, dtype=torch.float64) * 2.4 - 1.2
    points[0, 0] = torch.tensor([-1.0, -1.0])
    points[0, 1] = torch.tensor([1.0, 1.0])
    points[1, 0] = torch.tensor([0.2, -0.6])  # x = 0.6 * 5 = 3 px: a pixel centre
    points[1, 1] = torch.tensor([3.0, 0.0])
    return feature_map.requires_grad_(), points.requires_grad_()


def _grid_sample(feature_map, points, align_corners):
    out = F.grid_sample(feature_map, points[:, None], mode="bilinear", padding_mode="zeros",
                        align_corners=align_corners)
    return out[:, :, 0].transpose(1, 2)  # (B, J, C)


@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("channels_last", [False, True])
def test_values_and_gradients_equal_grid_sample(align_corners, channels_last):
    feature_map, points = _inputs(channels_last)
    ours = sample_at_points(feature_map, points, align_corners)
    theirs = _grid_sample(feature_map, points, align_corners)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)
    assert ours[1, 1].abs().max() == 0  # fully outside: zero padding

    weights = torch.randn_like(ours)
    grads_ours = torch.autograd.grad((ours * weights).sum(), (feature_map, points))
    grads_theirs = torch.autograd.grad((theirs * weights).sum(), (feature_map, points))
    torch.testing.assert_close(grads_ours[0], grads_theirs[0], rtol=1e-12, atol=1e-12)
    # The point gradient is one-sided at the pixel centre (row 1, joint 0); grid_sample and the
    # difference form pick the same side, so every point's gradient must agree.
    torch.testing.assert_close(grads_ours[1], grads_theirs[1], rtol=1e-10, atol=1e-12)


def test_channels_last_map_gets_a_channels_last_gradient():
    feature_map, points = _inputs(channels_last=True)
    sample_at_points(feature_map, points).sum().backward()
    assert feature_map.grad.is_contiguous(memory_format=torch.channels_last)


def test_sampler_module_returns_channel_major_features_per_map():
    feature_map, points = _inputs(channels_last=False)
    small = feature_map.detach()[:, :3, :4, :3]
    sampled = JointFeatureSampler()([feature_map, small], points)
    assert [tuple(s.shape) for s in sampled] == [(2, 5, 9), (2, 3, 9)]
    torch.testing.assert_close(sampled[1], _grid_sample(small, points, True).transpose(1, 2))


def test_half_precision_maps_are_sampled_at_full_precision_points():
    # bfloat16 keeps 8 significant bits: casting the points to it would move x = 0.3 on a
    # 100-pixel map by up to a quarter pixel. The positions must stay float32.
    feature_map = torch.arange(100, dtype=torch.float32).reshape(1, 1, 1, 100).expand(1, 1, 2, 100)
    points = torch.tensor([[[0.3001, 0.0]]])
    expected = (0.3001 + 1) / 2 * 99  # a linear ramp samples to its own coordinate
    ours = sample_at_points(feature_map.to(torch.bfloat16), points)
    assert ours.dtype == torch.float32
    assert abs(ours.item() - expected) < 1e-3


def test_bfloat16_autocast_keeps_positions_in_float32():
    """Under CPU bfloat16 autocast the decoder's maps come out bfloat16; the sampling positions and
    weights must stay float32 (bfloat16 would put a point on a 1/8-pixel grid at x ~ 60 px), so the
    result equals float64 interpolation of the same bfloat16 map values."""
    generator = torch.Generator().manual_seed(1)
    conv = torch.nn.Conv2d(3, 8, 1)
    image = torch.randn(2, 3, 80, 64, generator=generator)
    # Points between pixel centres far from the origin, 1/1000 px apart.
    points = torch.tensor([[[0.9, 0.9], [0.9 + 2 / 63 / 1000, 0.9]]] * 2)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feature_map = conv(image)
        assert feature_map.dtype == torch.bfloat16
        ours = sample_at_points(feature_map, points)
    assert ours.dtype == torch.float32
    expected = _grid_sample(feature_map.detach().double(), points.double(), True)
    # float32 positions near x = 60 px carry ~4e-6 px of rounding (times neighbour differences <= ~5).
    torch.testing.assert_close(ours.double(), expected, rtol=1e-5, atol=3e-5)
    # The two points 1/1000 px apart give different features (they would coincide in bfloat16).
    assert (ours[:, 0] - ours[:, 1]).abs().max() > 0
    rounded = _grid_sample(feature_map.detach().double(), points.bfloat16().double(), True)
    assert (rounded - expected).abs().max() > 1e-3  # what keeping the positions in float32 avoids
