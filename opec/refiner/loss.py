"""OPEC-Net's training loss: weighted L1 on the three GCN stages and on the sampling points."""
from __future__ import annotations

import torch
from torch import Tensor

# Weights of stage 1, stage 2, stage 3 and the points (the original's 0.3 / 0.5 / 1 / 1).
STAGE_WEIGHTS = (0.3, 0.5, 1.0)
POINTS_WEIGHT = 1.0


def masked_l1(pred: Tensor, target_xy: Tensor, labelled: Tensor) -> Tensor:
    """Mean |pred − target| over the coordinates of labelled joints (0 when none is labelled).

    pred, target_xy (B, J, 2); labelled (B, J) bool. Unlabelled joints contribute neither value
    nor gradient (even if non-finite).
    """
    error = torch.where(labelled.unsqueeze(-1), (pred - target_xy).abs(), 0.0)
    count = 2 * labelled.sum()
    return error.sum() / count.clamp(min=1)


def opec_loss(output, target: Tensor) -> tuple[Tensor, dict[str, float]]:
    """0.3·L1(stage 1) + 0.5·L1(stage 2) + L1(stage 3) + L1(points) over joints with v > 0.

    Args:
        output: :class:`~opec.refiner.opec_net.RefinerOutput` (stages 3 × (B, J, 2), points (B, J, 2)).
        target: (B, J, 3) ground truth (x̂, ŷ, v), box-normalised like the inputs.

    Returns ``(loss, terms)``: the scalar loss (float32 at least, with gradient; 0 when no joint is
    labelled) and the unweighted terms ``loss_stage1``, ``loss_stage2``, ``loss_stage3``,
    ``loss_points`` as Python floats.
    """
    labelled = target[..., 2] > 0
    target_xy = target[..., :2].to(torch.promote_types(target.dtype, torch.float32))
    terms = {f"loss_stage{k + 1}": masked_l1(stage, target_xy, labelled) for k, stage in enumerate(output.stages)}
    terms["loss_points"] = masked_l1(output.points, target_xy, labelled)
    loss = sum(w * terms[f"loss_stage{k + 1}"] for k, w in enumerate(STAGE_WEIGHTS))
    loss = loss + POINTS_WEIGHT * terms["loss_points"]
    return loss, {name: float(value.detach()) for name, value in terms.items()}
