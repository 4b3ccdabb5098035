"""Letterbox preprocessing of the detector input (AlphaPose ``prep_image`` + ``letterbox_image``, docs/detection.md)."""
from __future__ import annotations

import cv2
import numpy as np
import torch

PAD_VALUE = 128  # grey canvas around the resized image


def check_image(image_bgr, name: str = "image") -> None:
    """Raise a one-line ValueError unless ``image_bgr`` is an H×W×3 uint8 array."""
    if not isinstance(image_bgr, np.ndarray) or image_bgr.dtype != np.uint8 \
            or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or 0 in image_bgr.shape:
        got = (f"{type(image_bgr).__name__} {getattr(image_bgr, 'dtype', '')} "
               f"{getattr(image_bgr, 'shape', '')}").strip()
        raise ValueError(f"{name}: expected a BGR uint8 array of shape (H, W, 3), got {got}")


def letterbox_scale(width: int, height: int, inp_dim: int) -> float:
    """Scale s = min(D/w, D/h) that fits a w×h image into the D×D input."""
    return min(inp_dim / width, inp_dim / height)


def letterbox(image_bgr: np.ndarray, inp_dim: int) -> torch.Tensor:
    """BGR uint8 (H, W, 3) → network input (1, 3, D, D) float32 RGB in [0, 1].

    Resize by s = min(D/w, D/h) to (int(w·s), int(h·s)) with bicubic interpolation (OpenCV, so the
    fixed-point uint8 result matches the original bit for bit), paste at ((D-nw)//2, (D-nh)//2) on a
    canvas of 128, BGR → RGB, /255.
    """
    check_image(image_bgr)
    height, width = image_bgr.shape[:2]
    scale = letterbox_scale(width, height, inp_dim)
    new_w, new_h = int(width * scale), int(height * scale)  # truncation, as the original
    resized = cv2.resize(image_bgr, (new_w, new_h), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((inp_dim, inp_dim, 3), PAD_VALUE, dtype=np.uint8)
    top, left = (inp_dim - new_h) // 2, (inp_dim - new_w) // 2
    canvas[top:top + new_h, left:left + new_w] = resized
    chw = np.ascontiguousarray(canvas[:, :, ::-1].transpose(2, 0, 1))
    return torch.from_numpy(chw).float().div_(255.0).unsqueeze(0)
