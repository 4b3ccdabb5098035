"""Skeleton drawing: limbs coloured by body part and side, joint dots, low-score joints skipped.

Colours follow the joint names of the joint set (``opec.keypoints``), so CrowdPose-14, COCO-17 and
OPEC-12 share one scheme: the person's left side warm (arm orange, leg gold), the right side cool
(arm blue, leg teal), the torso magenta and the head/face green. Dots: left orange, right blue,
centre green, each with a dark rim so they stay visible on any background.
"""
from __future__ import annotations

import cv2
import numpy as np

from opec.keypoints import JointSet, joint_set as _lookup_joint_set

# RGB, converted to OpenCV's BGR below.
_PART_RGB = {
    ("left", "arm"): (255, 140, 0),
    ("left", "leg"): (255, 205, 0),
    ("right", "arm"): (30, 130, 255),
    ("right", "leg"): (0, 200, 200),
    ("centre", "torso"): (220, 40, 220),
    ("centre", "head"): (60, 200, 60),
}
_SIDE_RGB = {"left": (255, 140, 0), "right": (30, 130, 255), "centre": (60, 200, 60)}
_RIM_BGR = (30, 30, 30)
_HEAD_WORDS = ("nose", "eye", "ear", "head", "neck")


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def _side(name: str) -> str:
    if name.startswith(("left_", "right_")):
        return name.split("_", 1)[0]
    return "centre"


def _part(a: str, b: str) -> tuple[str, str]:
    """Body part of the limb between joints ``a`` and ``b`` (names from the joint set)."""
    if any(w in a or w in b for w in _HEAD_WORDS):
        return "centre", "head"
    side_a, side_b = _side(a), _side(b)
    if side_a != side_b:
        return "centre", "torso"  # shoulder-shoulder, hip-hip
    if {"shoulder", "hip"} == {a.split("_")[1], b.split("_")[1]}:
        return "centre", "torso"  # shoulder-hip
    if any(w in a or w in b for w in ("elbow", "wrist")):
        return side_a, "arm"
    return side_a, "leg"


def resolve_joint_set(joint_set: JointSet | str) -> JointSet:
    return _lookup_joint_set(joint_set) if isinstance(joint_set, str) else joint_set


def limb_colors(joint_set: JointSet | str) -> list[tuple[int, int, int]]:
    """BGR colour of every edge of ``joint_set.skeleton`` (same order)."""
    js = resolve_joint_set(joint_set)
    return [_bgr(_PART_RGB[_part(js.joints[i], js.joints[j])]) for i, j in js.skeleton]


def joint_colors(joint_set: JointSet | str) -> list[tuple[int, int, int]]:
    """BGR colour of every joint (by side)."""
    js = resolve_joint_set(joint_set)
    return [_bgr(_SIDE_RGB[_side(name)]) for name in js.joints]


def as_poses(keypoints, num_joints: int, what: str = "keypoints") -> np.ndarray:
    """``keypoints`` (P, J, 2|3) or (J, 2|3), NumPy or torch -> float (P, J, 3); a missing score
    column becomes 1. One-line ValueError when J does not match the joint set."""
    kp = np.asarray(keypoints.detach().cpu() if hasattr(keypoints, "detach") else keypoints,
                    dtype=np.float64)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[1] != num_joints or kp.shape[2] not in (2, 3):
        raise ValueError(f"{what}: expected shape (P, {num_joints}, 3) for this joint set, "
                         f"got {tuple(np.shape(keypoints))}")
    if kp.shape[2] == 2:
        kp = np.concatenate([kp, np.ones(kp.shape[:2] + (1,))], axis=2)
    return kp


def _thickness(image_shape, kp_xy: np.ndarray) -> int:
    """Line width from the person's size (its joints' extent), bounded by the image size."""
    extent = np.ptp(kp_xy, axis=0) if len(kp_xy) else np.zeros(2)
    diag = float(np.hypot(*extent))
    upper = max(2, round(min(image_shape[:2]) / 150))
    return int(np.clip(round(diag / 70), 2, upper))


def draw_poses(image_bgr: np.ndarray, keypoints, joint_set: JointSet | str,
               score_threshold: float = 0.05, fade_below: float | None = None,
               boxes=None) -> np.ndarray:
    """Draw skeletons onto a copy of ``image_bgr`` (H, W, 3) uint8 BGR.

    ``keypoints``: (P, J, 3) image pixels (x, y, score or visibility), J = ``joint_set``'s joint
    count. Joints whose third column is below ``score_threshold`` (GT visibility 0 included) or
    whose coordinates are not finite are not drawn, nor are limbs touching them. With
    ``fade_below``, joints scored in [score_threshold, fade_below) and their limbs are drawn
    semi-transparent. ``boxes`` (P, 4) corner format, optional: drawn as thin white rectangles.
    """
    js = resolve_joint_set(joint_set)
    image = np.ascontiguousarray(image_bgr).copy()
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"draw_poses: expected an (H, W, 3) uint8 BGR image, got shape "
                         f"{image.shape} dtype {image.dtype}")
    poses = as_poses(keypoints, js.num_joints)
    if boxes is not None:
        for x1, y1, x2, y2 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            cv2.rectangle(image, (round(x1), round(y1)), (round(x2), round(y2)),
                          (255, 255, 255), 1, cv2.LINE_AA)
    shown = np.isfinite(poses[..., :2]).all(-1) & (poses[..., 2] >= score_threshold)
    faint = shown & (poses[..., 2] < fade_below) if fade_below is not None else np.zeros_like(shown)
    edge_colors, dot_colors = limb_colors(js), joint_colors(js)
    faint_layer = image.copy() if faint.any() else None

    for p, pose in enumerate(poses):
        if not shown[p].any():
            continue
        xy = np.round(pose[:, :2]).astype(int)
        width = _thickness(image.shape, pose[shown[p], :2])
        for (i, j), color in zip(js.skeleton, edge_colors):
            if shown[p, i] and shown[p, j]:
                target = faint_layer if (faint[p, i] or faint[p, j]) else image
                cv2.line(target, tuple(xy[i]), tuple(xy[j]), color, width, cv2.LINE_AA)
        radius = width + 1
        for k in np.flatnonzero(shown[p]):
            target = faint_layer if faint[p, k] else image
            cv2.circle(target, tuple(xy[k]), radius + 1, _RIM_BGR, -1, cv2.LINE_AA)
            cv2.circle(target, tuple(xy[k]), radius, dot_colors[k], -1, cv2.LINE_AA)
    if faint_layer is not None:
        # Faint strokes: 40 % of the stroke over the picture as it was before them.
        changed = (faint_layer != image_bgr).any(-1)
        blend = cv2.addWeighted(faint_layer, 0.4, np.asarray(image_bgr), 0.6, 0)
        solid = (image != image_bgr).any(-1)
        image[changed & ~solid] = blend[changed & ~solid]
    return image
