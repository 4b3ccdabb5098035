"""Occlusion statistics of a keypoint dataset: how much annotated people overlap.

For every image of a COCO-format GT file, the *largest IoU* is the highest bounding-box IoU over
all pairs of counted persons in that image (0 when it has fewer than two). Counted persons are the
annotations of the person category (``category_id`` of the category named "person"; every
annotation when no category has that name) with ``iscrowd`` 0 and a box of positive width and
height; ``include_crowd=True`` also counts ``iscrowd`` 1 annotations (CrowdPose marks sparsely
labelled people that way). Every entry of ``images`` is one image of the total, including images
without any counted person.

The table gives the number (and share) of images whose largest IoU is strictly above 0.3, 0.5 and
0.75, and the mean of the per-image largest IoU, like the occlusion table of the original OPEC-Net
README (which does not publish how its numbers were computed).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from opec.fileio import read_json

THRESHOLDS = (0.3, 0.5, 0.75)


class StatsError(ValueError):
    """A GT file cannot be used (one-line message naming the file and field)."""


@dataclass
class OcclusionStats:
    name: str
    largest_iou: np.ndarray  # (num_images,) per-image largest IoU, 0 without a pair
    persons_per_image: np.ndarray  # (num_images,) counted persons
    thresholds: tuple[float, ...] = field(default=THRESHOLDS)

    @property
    def total(self) -> int:
        return int(len(self.largest_iou))

    def count_above(self, threshold: float) -> int:
        return int((self.largest_iou > threshold).sum())

    @property
    def mean_iou(self) -> float:
        return float(self.largest_iou.mean()) if self.total else 0.0


def pairwise_iou_xywh(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) COCO boxes (x, y, w, h) -> (N, N) IoU (areas w*h, no +1)."""
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    iw = np.clip(np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None]), 0, None)
    ih = np.clip(np.minimum(y2[:, None], y2[None]) - np.maximum(y1[:, None], y1[None]), 0, None)
    inter = iw * ih
    area = boxes[:, 2] * boxes[:, 3]
    return inter / (area[:, None] + area[None] - inter)


def _person_category_ids(gt: dict) -> set | None:
    ids = {c.get("id") for c in gt.get("categories") or [] if c.get("name") == "person"}
    return ids or None


def occlusion_stats(gt: dict, name: str = "", source: str = "GT",
                    include_crowd: bool = False) -> OcclusionStats:
    """Per-image largest person-box IoU of a COCO-format GT dict (see the module docstring)."""
    images = gt.get("images")
    if not isinstance(images, list) or not images:
        raise StatsError(f"{source}: field 'images' is missing or empty; expected a list of "
                         "images with 'id'")
    annotations = gt.get("annotations")
    if not isinstance(annotations, list) or not annotations:
        raise StatsError(f"{source}: field 'annotations' is missing or empty; expected person "
                         "annotations with 'bbox'")
    index = {}
    for k, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image:
            raise StatsError(f"{source}: images[{k}] has no 'id'")
        index[image["id"]] = k
    person_ids = _person_category_ids(gt)
    rows, boxes = [], []
    for k, ann in enumerate(annotations):
        bbox = ann.get("bbox") if isinstance(ann, dict) else None
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
            raise StatsError(f"{source}: annotations[{k}].bbox is missing or not [x, y, w, h]")
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in bbox):
            raise StatsError(f"{source}: annotations[{k}].bbox: expected 4 finite numbers [x, y, w, h], "
                             f"got {[float(v) if isinstance(v, float) else v for v in bbox]}")
        if ann.get("image_id") not in index:
            raise StatsError(f"{source}: annotations[{k}].image_id {ann.get('image_id')!r} "
                             "is not in 'images'")
        if person_ids is not None and ann.get("category_id") not in person_ids:
            continue
        if ann.get("iscrowd", 0) and not include_crowd:
            continue
        rows.append(index[ann["image_id"]])
        boxes.append(bbox)
    rows = np.asarray(rows, dtype=np.int64)
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    keep = (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
    rows, boxes = rows[keep], boxes[keep]

    largest = np.zeros(len(images))
    persons = np.bincount(rows, minlength=len(images))
    order = np.argsort(rows, kind="stable")
    rows, boxes = rows[order], boxes[order]
    image_rows, starts, counts = np.unique(rows, return_index=True, return_counts=True)
    for row, start, count in zip(image_rows, starts, counts):  # one IoU matrix per image
        if count >= 2:
            iou = pairwise_iou_xywh(boxes[start:start + count])
            np.fill_diagonal(iou, 0.0)
            largest[row] = iou.max()
    return OcclusionStats(name=name, largest_iou=largest, persons_per_image=persons)


def load_gt(path: str | Path) -> dict:
    path = Path(path)
    gt = read_json(path, "a COCO-format GT file", StatsError)
    if not isinstance(gt, dict):
        raise StatsError(f"{path}: expected a COCO-format JSON object with 'images' and "
                         "'annotations'")
    return gt


def _cell(count: int, total: int) -> str:
    if count == 0:
        return "0"
    share = 100.0 * count / total
    return f"{count}({share:.0f}%)" if share >= 1 else f"{count}(<1%)"


def markdown_table(rows: list[OcclusionStats]) -> str:
    """The README-style table, one row per dataset."""
    head = ["Dataset", "Total"] + [f"IoU>{t:g}" for t in THRESHOLDS] + ["Avg IoU"]
    lines = [" | ".join(head), "|".join([":--:"] * len(head))]
    for s in rows:
        cells = [s.name, str(s.total)] + [_cell(s.count_above(t), s.total) for t in THRESHOLDS]
        lines.append(" | ".join(cells + [f"{s.mean_iou:.2f}"]))
    return "\n".join(lines)


def plot_histogram(stats: OcclusionStats, out_png: str | Path) -> Path:
    """Histogram of the per-image largest IoU with the thresholds marked (PNG, atomic write)."""
    from matplotlib.figure import Figure

    from opec.visualization.curves import save_figure

    fig = Figure(figsize=(7, 4.2))
    ax = fig.add_subplot()
    paired = stats.largest_iou[stats.persons_per_image >= 2]
    ax.hist(paired, bins=np.linspace(0, 1, 41), color="#3a7bd5", edgecolor="white")
    for t, color in zip(THRESHOLDS, ("#f0a500", "#e8590c", "#c0392b")):
        ax.axvline(t, color=color, ls="--", lw=1.5,
                   label=f"IoU>{t:g}: {_cell(stats.count_above(t), stats.total)}")
    single = stats.total - len(paired)
    ax.set_title(f"{stats.name}: largest person-box IoU per image\n"
                 f"{len(paired)} images with 2+ persons shown; {single} with fewer count as 0",
                 fontsize=10)
    ax.set_xlabel("largest IoU between two persons in the image")
    ax.set_ylabel("images")
    ax.set_xlim(0, 1)
    ax.legend(title=f"mean over all {stats.total} images: {stats.mean_iou:.2f}")
    fig.tight_layout()
    return save_figure(fig, out_png)
