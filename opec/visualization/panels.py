"""Side-by-side pictures: the same image with initial and refined poses, titled."""
from __future__ import annotations

import cv2
import numpy as np

from opec.keypoints import JointSet
from opec.visualization.skeleton import as_poses, draw_poses, resolve_joint_set

MOVED_PX = 1.0  # joints displaced by more than this many pixels get a ring in the "after" half


def title_bar(width: int, text: str, height: int | None = None) -> np.ndarray:
    """A dark (height, width, 3) BGR strip with ``text`` centred in white."""
    height = height or max(24, round(width / 18))
    bar = np.full((height, width, 3), 40, np.uint8)
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, max(1, height // 20)
    scale = cv2.getFontScaleFromHeight(font, int(height * 0.5), thickness)
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    if tw > width - 8:  # long titles shrink to fit
        scale *= (width - 8) / tw
        (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    cv2.putText(bar, text, ((width - tw) // 2, (height + th) // 2), font, scale,
                (255, 255, 255), thickness, cv2.LINE_AA)
    return bar


def before_after_panel(image_bgr: np.ndarray, before, after, joint_set: JointSet | str,
                       boxes=None, titles: tuple[str, str] = ("before: initial pose",
                                                              "after: OPEC-Net refined"),
                       score_threshold: float = 0.05) -> np.ndarray:
    """Two copies of ``image_bgr`` side by side, ``before`` poses left and ``after`` right.

    ``before``/``after``: (P, J, 3) image pixels (x, y, score), the same persons in the same
    order (the OPEC protocol keeps scores, so the same joints are shown on both sides).
    ``boxes``: (P, 4) corner format, optional. Joints that moved by more than ``MOVED_PX``
    pixels get a white ring on the right. Returns (H + title, 2 W + gap, 3) uint8 BGR.
    """
    js = resolve_joint_set(joint_set)
    before = as_poses(before, js.num_joints, "before")
    after = as_poses(after, js.num_joints, "after")
    if before.shape != after.shape:
        raise ValueError(f"before and after must hold the same persons: shapes "
                         f"{before.shape} and {after.shape}")
    left = draw_poses(image_bgr, before, js, score_threshold, boxes=boxes)
    right = draw_poses(image_bgr, after, js, score_threshold, boxes=boxes)
    moved = (np.linalg.norm(after[..., :2] - before[..., :2], axis=-1) > MOVED_PX) \
        & (after[..., 2] >= score_threshold) & np.isfinite(after[..., :2]).all(-1)
    radius = max(5, round(min(image_bgr.shape[:2]) / 90))
    for x, y in np.round(after[moved][:, :2]).astype(int):
        cv2.circle(right, (x, y), radius, (255, 255, 255), max(1, radius // 4), cv2.LINE_AA)
    height, width = image_bgr.shape[:2]
    bar_height = max(24, round(width / 18))
    halves = [np.vstack([title_bar(width, text, bar_height), half])
              for text, half in zip(titles, (left, right))]
    gap = np.full((height + bar_height, max(4, width // 100), 3), 255, np.uint8)
    return np.hstack([halves[0], gap, halves[1]])
