"""Person crops for the SPPE (AlphaPose ``crop_from_dets`` / ``cropBox``) and OPEC's ``crop_large``.

Both crops share one geometry (``cropBox``): from a float box ``pt1..pt2`` take the integer box
``ul = trunc(pt1)``, ``br = trunc(pt2 - 1)``, zero every pixel of the mean-subtracted image outside
``[ul, br]``, pad the box symmetrically to the 320:256 aspect ratio and map it onto the 256x320 (WxH)
network input with the three-point similarity of ``cv2.getAffineTransform`` + ``cv2.warpAffine``
(bilinear, constant 0 border). They differ only in ``pt1, pt2``:

* :func:`alphapose_crop` enlarges detector boxes by 15 % per side, clamped to the image, >= 5 px;
* :func:`crop_large` uses the given boxes unchanged (OPEC's processed annotations).

Frames: boxes and ``pt1``/``pt2`` are image pixels ``(x, y)``; crops are ``(N, 3, 320, 256)`` float32
RGB minus :data:`RGB_MEAN` (no std division), CHW.

Speed without changing a bit: OpenCV 5 computes warp coordinates in float32, so warping a shifted
window is *not* bit-equal to warping the full image. Every warp therefore reads a full-size image
buffer, but that buffer is all zeros except the current box, which is filled (BGR uint8 -> float via
a 256-entry table that reproduces the original's arithmetic) just before its warp and cleared after.
Per box this touches the box area twice instead of copying and masking the whole image.

``normalize_to_box`` / ``denormalize_from_box`` give the box-normalised joint frame of the refiner
(x_hat = 2 ((x - x0) / w - 0.5), likewise y), in numpy or torch.
"""
from __future__ import annotations

from typing import TypeVar

import cv2
import numpy as np
import torch

INPUT_HEIGHT = 320
INPUT_WIDTH = 256
OUTPUT_HEIGHT = 80
OUTPUT_WIDTH = 64
# AlphaPose's mean, subtracted from the RGB image in [0, 1]; no std division. (These are the
# ImageNet means in reverse order -- an upstream quirk the FastPose weights were trained with.)
RGB_MEAN = (0.406, 0.457, 0.480)
# Box enlargement of ``crop_from_dets``: scaleRate 0.3, i.e. 0.15 of the width/height per side.
SCALE_RATE = 0.3
MIN_BOX_SIZE = 5.0


def _as_float32_boxes(boxes) -> torch.Tensor:
    boxes = torch.as_tensor(np.asarray(boxes, dtype=np.float32) if not torch.is_tensor(boxes) else boxes)
    boxes = boxes.detach().to("cpu", torch.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"boxes: expected an (N, 4) array of (x1, y1, x2, y2), got shape {tuple(boxes.shape)}")
    return boxes


def enlarge_boxes(boxes, image_width: int, image_height: int) -> tuple[torch.Tensor, torch.Tensor]:
    """AlphaPose's enlarged crop box of each detector box.

    boxes (N, 4) (x1, y1, x2, y2) image px -> pt1, pt2 (N, 2) float32 image px. Computed in float32 in
    the original's operation order (``int(pt1)`` / ``int(pt2 - 1)`` decide the crop, so rounding counts).
    """
    boxes = _as_float32_boxes(boxes)
    size = boxes[:, 2:] - boxes[:, :2]
    half = size * SCALE_RATE / 2
    pt1 = torch.clamp(boxes[:, :2] - half, min=0)
    limit = torch.tensor([image_width - 1, image_height - 1], dtype=torch.float32)
    pt2 = torch.maximum(torch.minimum(boxes[:, 2:] + half, limit), pt1 + MIN_BOX_SIZE)
    return pt1, pt2


def _input_lut(image_bgr: np.ndarray) -> np.ndarray:
    """(1, 256, 3) float32 table: uint8 value of BGR channel c -> value/255 - mean (BGR order)."""
    values = torch.arange(256, dtype=torch.float32)
    # Quirk kept from ``im_to_torch``: the /255 happens only when the image maximum exceeds 1.
    if int(image_bgr.max(initial=0)) > 1:
        values = values / 255
    mean_bgr = torch.tensor(RGB_MEAN[::-1], dtype=torch.float32)
    return (values[:, None] - mean_bgr).numpy()[None]


def crop_affine(ul: np.ndarray, br: np.ndarray) -> np.ndarray:
    """cropBox's 2x3 affine (image px -> crop px) for integer boxes ul, br (N, 2) -> (N, 2, 3) float64.

    The box is padded to the input aspect ratio (floor of half the difference); the source diagonal
    ``ul - pad .. br + pad`` goes onto ``(0, 0) .. (255, 319)``, third points rotated by 90 degrees
    about the diagonal's end: a similarity with a tiny rotation when the aspect is not 255:319.
    """
    box = (br - ul).astype(np.float64)
    len_h = np.maximum(box[:, 1], box[:, 0] * INPUT_HEIGHT / INPUT_WIDTH)
    len_w = len_h * INPUT_WIDTH / INPUT_HEIGHT
    pad = np.stack([np.floor((len_w - box[:, 0]) / 2), np.floor((len_h - box[:, 1]) / 2)], axis=1)
    dst = np.array([[0, 0], [INPUT_WIDTH - 1, INPUT_HEIGHT - 1]], dtype=np.float32)
    matrices = np.empty((len(ul), 2, 3), dtype=np.float64)
    for i in range(len(ul)):  # getAffineTransform is per triangle; 3x3 solves are negligible
        src = np.stack([ul[i] - pad[i], br[i] + pad[i]]).astype(np.float32)
        matrices[i] = cv2.getAffineTransform(_with_third_point(src), _with_third_point(dst))
    return matrices


def _with_third_point(points: np.ndarray) -> np.ndarray:
    """(2, 2) float32 diagonal a, b -> (3, 2): b + rot90(a - b), in float32 like the original."""
    direction = points[0] - points[1]
    third = points[1] + np.array([-direction[1], direction[0]], dtype=np.float32)
    return np.concatenate([points, third[None]]).astype(np.float32)


def crop_box(image_bgr: np.ndarray, pt1, pt2) -> torch.Tensor:
    """cropBox for every float box pt1..pt2 (N, 2) image px -> (N, 3, 320, 256) float32 RGB - mean."""
    image_bgr = _check_image(image_bgr)
    pt1 = torch.as_tensor(pt1, dtype=torch.float32).reshape(-1, 2)
    pt2 = torch.as_tensor(pt2, dtype=torch.float32).reshape(-1, 2)
    num = pt1.shape[0]
    out = np.empty((num, INPUT_HEIGHT, INPUT_WIDTH, 3), dtype=np.float32)
    if num:
        ul = pt1.to(torch.int64).numpy()  # truncation toward zero, like ``.int()``
        br = (pt2 - 1).to(torch.int64).numpy()
        height, width = image_bgr.shape[:2]
        lut = _input_lut(image_bgr)
        matrices = crop_affine(ul, br)
        # Kept region [ul, br] (inclusive), clipped to the image; the original zeroes the outside.
        x0 = np.clip(ul[:, 0], 0, width)
        y0 = np.clip(ul[:, 1], 0, height)
        x1 = np.clip(br[:, 0] + 1, 0, width)
        y1 = np.clip(br[:, 1] + 1, 0, height)
        canvas = np.zeros((height, width, 3), dtype=np.float32)
        for i in range(num):
            region = canvas[y0[i]:y1[i], x0[i]:x1[i]]
            if region.size:
                region[...] = cv2.LUT(image_bgr[y0[i]:y1[i], x0[i]:x1[i]], lut)
            cv2.warpAffine(canvas, matrices[i], (INPUT_WIDTH, INPUT_HEIGHT), dst=out[i],
                           flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            region[...] = 0
    # BGR HWC -> RGB CHW (numpy's strided copy is far faster here than torch's flip + permute)
    return torch.from_numpy(np.ascontiguousarray(out[..., ::-1].transpose(0, 3, 1, 2)))


def _check_image(image_bgr) -> np.ndarray:
    if not isinstance(image_bgr, np.ndarray) or image_bgr.ndim != 3 or image_bgr.shape[2] != 3 \
            or image_bgr.dtype != np.uint8:
        desc = f"{image_bgr.dtype} {image_bgr.shape}" if isinstance(image_bgr, np.ndarray) else type(image_bgr)
        raise ValueError(f"image: expected a BGR uint8 array of shape (H, W, 3), got {desc}")
    return image_bgr


def alphapose_crop(image_bgr: np.ndarray, boxes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """AlphaPose's SPPE input for every detector box of one image.

    image_bgr (H, W, 3) uint8; boxes (N, 4) (x1, y1, x2, y2) image px ->
    inps (N, 3, 320, 256) float32, pt1, pt2 (N, 2) float32: the enlarged box (image px) each crop
    was taken from, needed to decode the heatmaps back to the image.
    """
    image_bgr = _check_image(image_bgr)
    pt1, pt2 = enlarge_boxes(boxes, image_bgr.shape[1], image_bgr.shape[0])
    return crop_box(image_bgr, pt1, pt2), pt1, pt2


def crop_large(image_bgr: np.ndarray, boxes) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """OPEC-Net's crop: cropBox on the boxes as given (no enlargement, no clamping).

    image_bgr (H, W, 3) uint8; boxes (N, 4) (x0, y0, x1, y1) image px -> inps (N, 3, 320, 256)
    float32, pt1 = (x0, y0), pt2 = (x1, y1) (N, 2) float32 -- the unpadded box, which is also the
    joint normalisation frame (:func:`normalize_to_box`).
    """
    image_bgr = _check_image(image_bgr)
    boxes = _as_float32_boxes(boxes)
    pt1, pt2 = boxes[:, :2].clone(), boxes[:, 2:].clone()
    return crop_box(image_bgr, pt1, pt2), pt1, pt2


Array = TypeVar("Array", np.ndarray, torch.Tensor)


def _box_frame(joints: Array, pt1, pt2) -> tuple[Array, Array]:
    if torch.is_tensor(joints):
        origin = torch.as_tensor(pt1, dtype=joints.dtype, device=joints.device)
        size = torch.as_tensor(pt2, dtype=joints.dtype, device=joints.device) - origin
    else:
        origin = np.asarray(pt1, dtype=joints.dtype)
        size = np.asarray(pt2, dtype=joints.dtype) - origin
    return origin[:, None, :], size[:, None, :]


def normalize_to_box(joints: Array, pt1, pt2) -> Array:
    """Image px -> box-normalised frame: x_hat = 2 ((x - x0) / w - 0.5), likewise y.

    joints (P, J, >=2) numpy or torch, pt1 = (x0, y0), pt2 = (x1, y1) (P, 2), w = x1 - x0. [-1, 1]
    spans the box. Columns after the second (score / visibility) are copied unchanged. Returns a new
    array of the same type and dtype.
    """
    origin, size = _box_frame(joints, pt1, pt2)
    out = joints.clone() if torch.is_tensor(joints) else joints.copy()
    out[..., :2] = 2 * ((joints[..., :2] - origin) / size - 0.5)
    return out


def denormalize_from_box(joints: Array, pt1, pt2) -> Array:
    """Inverse of :func:`normalize_to_box`: x = (x_hat / 2 + 0.5) w + x0 (third column unchanged)."""
    origin, size = _box_frame(joints, pt1, pt2)
    out = joints.clone() if torch.is_tensor(joints) else joints.copy()
    out[..., :2] = (joints[..., :2] / 2 + 0.5) * size + origin
    return out
