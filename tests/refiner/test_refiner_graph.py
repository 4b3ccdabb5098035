"""SemGraphConv, the GCN blocks: hand-checked small cases and invariants (no reference files)."""
from __future__ import annotations

import pytest
import torch

from opec.keypoints import OPEC12
from opec.refiner.gcn_blocks import NodeAttention, ResidualGraphBlock
from opec.refiner.graph import SemGraphConv, skeleton_mask


def test_opec12_mask_degrees_and_entry_count():
    mask = skeleton_mask(12, OPEC12.skeleton)
    assert mask.dtype == torch.bool and torch.equal(mask, mask.T)
    assert int(mask.sum()) == 36  # 12 self loops + 2 x 12 edges
    degrees = mask.sum(1).tolist()
    for joints, degree in (((0, 1, 6, 7), 4), ((2, 3, 8, 9), 3), ((4, 5, 10, 11), 2)):
        assert all(degrees[j] == degree for j in joints)
    # Row-major order of the learned logits: row 0 holds (0,0), (0,1), (0,2), (0,6).
    assert mask.nonzero()[:4].tolist() == [[0, 0], [0, 1], [0, 2], [0, 6]]


def test_mask_rejects_bad_edges():
    with pytest.raises(ValueError, match="outside 0..2"):
        skeleton_mask(3, [(0, 3)])


def test_initial_adjacency_is_the_row_normalised_graph():
    mask = skeleton_mask(12, OPEC12.skeleton)
    conv = SemGraphConv(3, 5, mask)
    adj = conv.adjacency()
    expected = mask.float() / mask.sum(1, keepdim=True)
    torch.testing.assert_close(adj, expected)


def test_hand_computed_three_node_chain():
    # Path 0 - 1 - 2, 1 input and 1 output channel: W0 = 2 (self), W1 = 3 (neighbours), bias 0.5.
    mask = skeleton_mask(3, [(0, 1), (1, 2)])
    conv = SemGraphConv(1, 1, mask)
    with torch.no_grad():
        conv.W.copy_(torch.tensor([[[2.0]], [[3.0]]]))
        conv.bias.fill_(0.5)
        # Logits in row-major mask order: (0,0) (0,1) | (1,0) (1,1) (1,2) | (2,1) (2,2).
        conv.e.copy_(torch.log(torch.tensor([1.0, 3.0, 1.0, 2.0, 1.0, 1.0, 1.0])))
    x = torch.tensor([[[1.0], [10.0], [100.0]]])
    # Row 0: weights (1/4, 3/4); row 1: (1/4, 2/4, 1/4); row 2: (1/2, 1/2).
    expected = torch.tensor([
        0.25 * 2 * 1 + 0.75 * 3 * 10 + 0.5,
        0.5 * 2 * 10 + 0.25 * 3 * 1 + 0.25 * 3 * 100 + 0.5,
        0.5 * 2 * 100 + 0.5 * 3 * 10 + 0.5,
    ]).reshape(1, 3, 1)
    torch.testing.assert_close(conv(x), expected)


def test_initialisation_follows_the_original():
    mask = skeleton_mask(12, OPEC12.skeleton)
    torch.manual_seed(0)
    conv = SemGraphConv(64, 128, mask)
    assert torch.all(conv.e == 1)
    assert conv.bias.abs().max() <= 1 / 128**0.5
    # Xavier-uniform with gain 1.414 on the 3-D W: fan_in = 64*128, fan_out = 2*128.
    bound = 1.414 * (6 / (64 * 128 + 2 * 128)) ** 0.5
    assert conv.W.abs().max() <= bound and conv.W.abs().max() > 0.9 * bound


def test_mask_is_a_buffer_outside_the_state_dict():
    conv = SemGraphConv(2, 2, skeleton_mask(4, [(0, 1)]))
    assert "mask" in dict(conv.named_buffers())
    assert set(conv.state_dict()) == {"W", "e", "bias"}
    assert conv.double().mask.dtype == torch.bool


def test_node_attention_scales_each_joint_by_one_plus_its_gate():
    attention = NodeAttention(channels=8, num_joints=5)
    y = torch.rand(2, 5, 8)
    with torch.no_grad():
        out = attention(y)
        gate = torch.sigmoid(attention.squeeze(y.mean(dim=1)))
    torch.testing.assert_close(out, y * (1 + gate[..., None]))
    ratio = out / y
    assert torch.allclose(ratio, ratio[..., :1].expand_as(ratio))  # one factor per joint
    assert torch.all((ratio > 1) & (ratio < 2))


def test_residual_block_puts_image_features_first():
    mask = skeleton_mask(4, [(0, 1), (1, 2), (2, 3)])
    block = ResidualGraphBlock(channels=6, num_joints=4, mask=mask).eval()
    x = torch.rand(2, 4, 4)
    features = torch.rand(2, 2, 4)  # (B, C_f, J)
    seen = {}
    block.gconv1.register_forward_pre_hook(lambda m, args: seen.setdefault("input", args[0]))
    block(x, features)
    torch.testing.assert_close(seen["input"][..., :2], features.transpose(1, 2))
    torch.testing.assert_close(seen["input"][..., 2:], x)
