"""oneDNN's fused convolution for frozen CPU inference (the op ``torch.compile`` emits on CPU).

``torch.ops.mkldnn._convolution_pointwise`` runs a convolution with its activation fused in, one
oneDNN call; eager PyTorch runs 1x1 convolutions as a GEMM at about half of oneDNN's speed here and
applies the activation as a separate pass over the output. The op is private, so it is probed once
at import: :data:`CONV_POINTWISE` is the op when this torch build has it with the expected signature
and behaviour, else None (callers then use ``F.conv2d``). It has no backward: inference only.

Signature: ``CONV_POINTWISE(x, weight, bias, padding, stride, dilation, groups, attr, scalars,
algorithm)`` with ``attr`` one of ``"none"``, ``"relu"``, ``"leaky_relu"`` (``scalars`` = [slope]).
"""
from __future__ import annotations

import torch


def _probe():
    op = getattr(torch.ops.mkldnn, "_convolution_pointwise", None) if torch.backends.mkldnn.is_available() else None
    if op is None:
        return None
    one = torch.ones(1, 1, 1, 1, device="cpu")
    try:
        ok = (op(-one, one, None, [0, 0], [1, 1], [1, 1], 1, "leaky_relu", [0.5], "").item() == -0.5
              and op(-one, one, None, [0, 0], [1, 1], [1, 1], 1, "relu", [], "").item() == 0)
    except (RuntimeError, TypeError):
        ok = False
    return op if ok else None


CONV_POINTWISE = _probe()
