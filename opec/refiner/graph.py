"""Semantic graph convolution (SemGCN) over a fixed skeleton with learned edge weights.

OPEC-Net's GCN stages are built from this layer. The graph is the skeleton made symmetric and given
self loops; only its pattern of non-zero entries matters. Each true entry of that mask carries one
learned logit (``e``); a row softmax over a node's own entries turns them into the mixing weights Â.
The self term and the neighbour terms have separate weight matrices (``W[0]``, ``W[1]``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def skeleton_mask(num_joints: int, edges: Sequence[Sequence[int]]) -> Tensor:
    """(J, J) bool adjacency: the undirected ``edges`` in both directions, plus self loops.

    Raises ValueError (one line) for an edge that names a joint outside ``0..num_joints-1``.
    """
    mask = torch.eye(num_joints, dtype=torch.bool)
    for edge in edges:
        i, j = (int(v) for v in edge)
        if not (0 <= i < num_joints and 0 <= j < num_joints):
            raise ValueError(f"skeleton edge ({i}, {j}) names a joint outside 0..{num_joints - 1}")
        mask[i, j] = mask[j, i] = True
    return mask


class SemGraphConv(nn.Module):
    """Graph convolution with one learned weight per adjacency entry (SemGCN, Zhao et al. 2019).

    ``out = diag(Â) ∘ (X W[0]) + offdiag(Â) (X W[1]) + bias`` with Â = row-softmax of the logits
    ``e`` placed on the mask (−inf elsewhere).

    Args:
        in_features, out_features: channel widths.
        mask: (J, J) bool adjacency with self loops (see :func:`skeleton_mask`); kept as a
            non-persistent buffer (it follows ``.to()``, and checkpoints stay free of it).

    Parameters (the original's names): ``W`` (2, in, out), ``e`` (number of true mask entries,)
    in row-major order of the mask, ``bias`` (out,).

    Shapes: X (B, J, in) -> (B, J, out).
    """

    def __init__(self, in_features: int, out_features: int, mask: Tensor):
        super().__init__()
        if mask.dtype != torch.bool or mask.dim() != 2 or mask.shape[0] != mask.shape[1]:
            raise ValueError(f"mask must be a square bool matrix, got {tuple(mask.shape)} {mask.dtype}")
        if not bool(mask.diagonal().all()):
            raise ValueError("mask must contain every self loop (its diagonal must be true)")
        self.in_features = in_features
        self.out_features = out_features
        self.register_buffer("mask", mask.clone(), persistent=False)
        self.W = nn.Parameter(torch.empty(2, in_features, out_features))
        self.e = nn.Parameter(torch.empty(int(mask.sum())))
        self.bias = nn.Parameter(torch.empty(out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Original init: Xavier-uniform (gain 1.414) on the 3-D W, whose fans torch computes as
        # fan_in = in*out, fan_out = 2*out; e = 1 (uniform mixing); bias U(±1/sqrt(out)).
        nn.init.xavier_uniform_(self.W, gain=1.414)
        nn.init.constant_(self.e, 1.0)
        bound = 1.0 / math.sqrt(self.out_features)
        nn.init.uniform_(self.bias, -bound, bound)

    def adjacency(self) -> Tensor:
        """Â (J, J): row softmax of the edge logits over each node's neighbours (incl. itself)."""
        # The original fills non-edges with -9e15 before the softmax; -inf gives the same exact
        # zeros and also survives half precision, where -9e15 overflows.
        logits = torch.full(self.mask.shape, float("-inf"), dtype=self.e.dtype, device=self.e.device)
        logits = logits.masked_scatter(self.mask, self.e)  # fills the mask in row-major order
        return torch.softmax(logits, dim=1)

    def forward(self, x: Tensor) -> Tensor:
        adj = self.adjacency().to(x.dtype)
        self_weight = adj.diagonal()  # (J,)
        neighbours = adj - torch.diag(self_weight)  # off-diagonal part, exact zeros on the diagonal
        # One GEMM for both weight matrices: (B*J, in) @ (in, 2*out).
        weight = self.W.to(x.dtype).permute(1, 0, 2).reshape(self.in_features, 2 * self.out_features)
        h_self, h_neighbour = (x @ weight).split(self.out_features, dim=-1)
        out = self_weight[:, None] * h_self + neighbours @ h_neighbour
        return out + self.bias.to(out.dtype)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, edges={int(self.mask.sum())}"
