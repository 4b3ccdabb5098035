"""opec_loss: hand-computed values, masking, the no-label case."""
from __future__ import annotations

import torch

from opec.refiner import RefinerOutput, opec_loss


def _output(stages, points):
    return RefinerOutput([s.clone().requires_grad_() for s in stages], points.clone().requires_grad_())


def test_hand_computed_weights_and_mask():
    target = torch.zeros(1, 2, 3)
    target[0, 0, 2] = 2  # joint 0 labelled, joint 1 not
    stages = [torch.full((1, 2, 2), v) for v in (1.0, 2.0, 3.0)]
    stages = [s.index_put((torch.tensor([0]), torch.tensor([1])), torch.tensor(100.0)) for s in stages]
    points = torch.tensor([[[0.5, -0.5], [50.0, 50.0]]])
    loss, terms = opec_loss(_output(stages, points), target)
    # Unlabelled joint 1 is ignored: L1 = mean over the 2 coordinates of joint 0.
    assert terms == {"loss_stage1": 1.0, "loss_stage2": 2.0, "loss_stage3": 3.0, "loss_points": 0.5}
    assert abs(loss.item() - (0.3 * 1 + 0.5 * 2 + 3 + 0.5)) < 1e-6


def test_no_labelled_joint_gives_zero_loss_with_finite_gradient():
    target = torch.zeros(3, 12, 3)  # v = 0 everywhere
    out = _output([torch.randn(3, 12, 2) for _ in range(3)], torch.randn(3, 12, 2))
    loss, terms = opec_loss(out, target)
    assert loss.item() == 0.0 and all(v == 0.0 for v in terms.values())
    loss.backward()
    for t in [*out.stages, out.points]:
        assert t.grad is not None and torch.all(t.grad == 0)


def test_unlabelled_non_finite_predictions_do_not_leak():
    target = torch.zeros(1, 2, 3)
    target[0, 0, 2] = 1
    stage = torch.tensor([[[0.0, 0.0], [float("nan"), float("inf")]]])
    out = _output([stage] * 3, stage)
    loss, _ = opec_loss(out, target)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(out.points.grad).all()
