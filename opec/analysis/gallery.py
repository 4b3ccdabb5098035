"""Crops of single persons with the GT (thin), the *before* pose and the *after* pose drawn on the
image, as PNG data URIs for the report (OpenCV only; imported when ``--images`` is given)."""
from __future__ import annotations

import base64

import numpy as np

GT_BGR = (255, 255, 255)       # white, 1 px
BEFORE_BGR = (0, 140, 255)     # orange
AFTER_BGR = (255, 110, 30)     # blue
CROP_HEIGHT = 220
MARGIN = 0.25                  # of the GT box size, on each side


def _draw(canvas: np.ndarray, xy: np.ndarray, skeleton, color, thickness: int, visible=None) -> None:
    import cv2

    visible = np.ones(len(xy), dtype=bool) if visible is None else visible
    points = np.round(xy).astype(np.int32)
    for i, j in skeleton:
        if visible[i] and visible[j]:
            cv2.line(canvas, tuple(map(int, points[i])), tuple(map(int, points[j])), color, thickness, cv2.LINE_AA)
    for k in np.flatnonzero(visible):
        cv2.circle(canvas, tuple(map(int, points[k])), thickness + 1, color, -1, cv2.LINE_AA)


def person_crop(image_bgr: np.ndarray, gt_keypoints: np.ndarray, gt_box, skeleton, before=None, after=None,
                height: int = CROP_HEIGHT) -> np.ndarray:
    """The region around one GT person, scaled to ``height`` pixels, with the GT (thin white,
    labelled joints only), ``before`` (orange) and ``after`` (blue) poses.

    Args:
        image_bgr: (H, W, 3) uint8. gt_keypoints: (K, 3) x, y, v. gt_box: x, y, w, h.
        skeleton: (i, j) joint index pairs. before / after: (K, 2) poses or None.
    """
    import cv2

    x, y, w, h = (float(v) for v in gt_box)
    x0, y0 = max(int(x - MARGIN * w), 0), max(int(y - MARGIN * h), 0)
    x1 = min(int(np.ceil(x + w + MARGIN * w)), image_bgr.shape[1])
    y1 = min(int(np.ceil(y + h + MARGIN * h)), image_bgr.shape[0])
    if x1 <= x0 or y1 <= y0:  # a box outside the image: show the whole image
        x0, y0, x1, y1 = 0, 0, image_bgr.shape[1], image_bgr.shape[0]
    scale = height / (y1 - y0)
    crop = cv2.resize(image_bgr[y0:y1, x0:x1], (max(int(round((x1 - x0) * scale)), 1), height),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    offset = np.array([x0, y0], dtype=np.float64)
    for pose, color in ((before, BEFORE_BGR), (after, AFTER_BGR)):
        if pose is not None:
            _draw(crop, (np.asarray(pose, dtype=np.float64) - offset) * scale, skeleton, color, 2)
    _draw(crop, (gt_keypoints[:, :2] - offset) * scale, skeleton, GT_BGR, 1, gt_keypoints[:, 2] > 0)
    return crop


def png_data_uri(image_bgr: np.ndarray) -> str:
    """``data:image/png;base64,...`` of an image."""
    import cv2

    ok, buffer = cv2.imencode(".png", image_bgr)
    if not ok:
        raise ValueError("PNG encoding failed")
    return "data:image/png;base64," + base64.b64encode(buffer.tobytes()).decode("ascii")
