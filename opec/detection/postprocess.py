"""Detector post-processing: person selection, greedy NMS, the >100 rerun, mapping back to the image.

AlphaPose ``write_results`` / ``dynamic_write_results`` and ``DetectionLoader`` (docs/detection.md), for a
whole batch at once. Result rows follow the original's 8-column layout:
``[batch index, x1, y1, x2, y2 (input pixels), objectness, class-0 score, class index (0)]``.
"""
from __future__ import annotations

import torch

PERSON_CLASS = 0
RERUN_ABOVE = 100  # more rows than this after NMS → one rerun with a lower threshold
RERUN_DELTA = 0.05
_NMS_CHUNK = 2048  # boxes compared at once (bounds the IoU matrix to 16 MB)


def select_persons(prediction: torch.Tensor, confidence: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """prediction (B, N, 5+C) (cx, cy, w, h, obj, classes) → (batch index (K,), rows (K, 7)).

    Keeps rows with objectness > confidence (objectness alone, not obj·cls) whose class argmax is the
    person class; rows are [x1, y1, x2, y2, obj, class-0 score, 0] in input pixels, in input order.
    """
    objectness = prediction[..., 4]
    class_score, class_index = prediction[..., 5:].max(dim=-1)
    mask = (objectness > confidence) & (class_index == PERSON_CLASS)
    batch_index = mask.nonzero()[:, 0]
    p = prediction[mask]
    centre, half = p[:, :2], p[:, 2:4] / 2
    rows = torch.cat((centre - half, centre + half, p[:, 4:5], class_score[mask].unsqueeze(1),
                      class_index[mask].unsqueeze(1).to(p.dtype)), dim=1)
    return batch_index, rows


def box_iou_plus1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU (N, M) of corner boxes a (N, 4), b (M, 4) with the inclusive-pixel convention (+1).

    Widths are x2 - x1 + 1 and intersections min(x2) - max(x1) + 1 clamped at 0, evaluated in the
    original's operation order so that values at a threshold compare identically.
    """
    a, b = a[:, None, :], b[None, :, :]
    inter_w = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0]) + 1).clamp_(min=0)
    inter_h = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1]) + 1).clamp_(min=0)
    inter = inter_w * inter_h
    area_a = (a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    return inter / (area_a + area_b - inter)


def greedy_nms(boxes: torch.Tensor, threshold: float, groups: torch.Tensor | None = None) -> torch.Tensor:
    """Greedy NMS on boxes (K, 4) already sorted by descending score → keep mask (K,) bool.

    Walking the list in order, each surviving box removes every later box of the same group with
    IoU (+1 convention) >= threshold. Computed without a per-box loop: within a chunk, the keep mask
    is the fixed point of keep[j] = no earlier kept box suppresses j, which is unique (each entry
    depends only on earlier ones), so iterating from "all alive" reaches exactly the greedy result.
    """
    count = boxes.shape[0]
    if groups is None:
        groups = boxes.new_zeros(count, dtype=torch.long)
    keep = torch.zeros(count, dtype=torch.bool, device=boxes.device)
    for start in range(0, count, _NMS_CHUNK):
        stop = min(start + _NMS_CHUNK, count)
        block, block_groups = boxes[start:stop], groups[start:stop]
        alive = torch.ones(stop - start, dtype=torch.bool, device=boxes.device)
        kept = keep[:start].nonzero()[:, 0]
        if kept.numel():
            hit = (box_iou_plus1(boxes[kept], block) >= threshold) & (groups[kept, None] == block_groups)
            alive = ~hit.any(dim=0)
        suppresses = (box_iou_plus1(block, block) >= threshold) & (block_groups[:, None] == block_groups)
        suppresses = suppresses.triu_(diagonal=1)
        current = alive
        while True:
            updated = alive & ~(suppresses & current[:, None]).any(dim=0)
            if torch.equal(updated, current):
                break
            current = updated
        keep[start:stop] = current
    return keep


def _sort_candidates(batch_index: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Order by image, then by descending objectness (stable: ties keep input order)."""
    order = torch.sort(rows[:, 4], descending=True, stable=True).indices
    order = order[torch.sort(batch_index[order], stable=True).indices]
    return batch_index[order], rows[order]


def _nms_rows(batch_index: torch.Tensor, rows: torch.Tensor, threshold: float) -> torch.Tensor:
    keep = greedy_nms(rows[:, :4], threshold, batch_index)
    return torch.cat((batch_index[keep, None].to(rows.dtype), rows[keep]), dim=1)


def write_results(prediction: torch.Tensor, confidence: float = 0.05, nms_thresh: float = 0.6) -> torch.Tensor:
    """prediction (B, N, 5+C) → person rows (K, 8) after greedy NMS, per image in descending objectness.

    Images follow each other in batch order; an empty result is a (0, 8) tensor (the original returns 0).
    """
    return _nms_rows(*_sort_candidates(*select_persons(prediction, confidence)), nms_thresh)


def dynamic_write_results(prediction: torch.Tensor, confidence: float = 0.05,
                          nms_thresh: float = 0.6) -> tuple[torch.Tensor, bool]:
    """AlphaPose's rule: NMS at ``nms_thresh``; if more than 100 rows remain over the whole batch,
    redo once at ``nms_thresh - 0.05``. Returns (rows (K, 8), whether the rerun was used).

    The count is over the batch, so with several images per batch the decision couples them
    (AlphaPose's default detection batch is 1 image).
    """
    batch_index, rows = _sort_candidates(*select_persons(prediction, confidence))
    dets = _nms_rows(batch_index, rows, nms_thresh)
    if dets.shape[0] <= RERUN_ABOVE:
        return dets, False
    return _nms_rows(batch_index, rows, nms_thresh - RERUN_DELTA), True


def map_to_image(boxes: torch.Tensor, image_wh: torch.Tensor, inp_dim: int) -> torch.Tensor:
    """Undo the letterbox: boxes (K, 4) input px → image px, image_wh (K, 2) = (W, H) of each box's image.

    x -= (D - s·W)/2 and y -= (D - s·H)/2 with the float offsets (not the integer paste offsets), then
    divide by s = min(D/W, D/H); clamp x to [0, W] and y to [0, H] (not W-1 / H-1), as the original.
    """
    image_wh = image_wh.to(boxes.dtype)
    scale = torch.min(inp_dim / image_wh, dim=1).values.unsqueeze(1)
    offset = (inp_dim - scale * image_wh) / 2
    mapped = (boxes - offset.repeat(1, 2)) / scale
    limit = image_wh.repeat(1, 2)
    return torch.minimum(mapped.clamp(min=0), limit)
