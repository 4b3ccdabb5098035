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
window is *not* bit-equal to warping the full image. Every warp therefore reads a full-size canvas,
but that canvas is all zeros except the current box, which is filled (uint8 -> float through a
256-entry table that reproduces the original's arithmetic) just before its warp and cleared after:
per box this touches the box area twice instead of copying and masking the whole image. The canvas
holds the colours in RGB order, either as one RGBA image (small boxes: one 4-channel warp, then
split into the output planes) or one plane at a time (large boxes: each plane warped straight
into the output), so no channel reversal or HWC -> CHW copy is needed.

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


def _input_tables(image_bgr: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Tables uint8 value -> value/255 - mean: (1, 256, 4) float32 with channels R, G, B and a spare
    0 (for an RGBA image), and the R, G and B columns alone (256,) (for single planes)."""
    # Quirk kept from ``im_to_torch``: the /255 happens only when the image maximum exceeds 1
    # (the first row nearly always decides; the whole image is read only when it does not).
    scaled = int(image_bgr[:1].max(initial=0)) > 1 or int(image_bgr.max(initial=0)) > 1
    return _TABLES[scaled]


def _make_tables() -> dict[bool, tuple[np.ndarray, list[np.ndarray]]]:
    values = torch.arange(256, dtype=torch.float32)
    tables = {}
    for scaled in (False, True):
        rgba = torch.zeros(1, 256, 4)
        # float32 division, then float32 subtraction: the original's two roundings
        rgba[0, :, :3] = (values / 255 if scaled else values)[:, None] - torch.tensor(RGB_MEAN, dtype=torch.float32)
        tables[scaled] = (rgba.numpy(), [rgba[0, :, c].contiguous().numpy() for c in range(3)])
    return tables


_TABLES = _make_tables()
# Boxes whose kept region has at most this many pixels are filled and warped as one RGBA image,
# larger ones plane by plane. OpenCV's 4-channel float warp costs about as much as a 1-channel one
# (320x256, one core: ~0.10 ms against 3 x 0.10 ms for the planes, plus ~0.02 ms to split the
# result), but the 4-channel fill writes 4 floats a pixel through a slower lookup (~2 ns against
# ~1 ns a pixel for the three planes): the two break even near 100k pixels.
RGBA_MAX_AREA = 100_000


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
    src = _with_third_point(np.stack([ul - pad, br + pad], axis=1).astype(np.float32))
    dst = _with_third_point(np.array([[[0, 0], [INPUT_WIDTH - 1, INPUT_HEIGHT - 1]]], dtype=np.float32))[0]
    # getAffineTransform is per triangle; 3x3 solves are negligible
    return np.stack([cv2.getAffineTransform(triangle, dst) for triangle in src]) if len(ul) else np.empty((0, 2, 3))


def _with_third_point(points: np.ndarray) -> np.ndarray:
    """(N, 2, 2) float32 diagonals a, b -> (N, 3, 2): b + rot90(a - b), in float32 like the original."""
    direction = points[:, 0] - points[:, 1]
    third = points[:, 1] + np.stack([-direction[:, 1], direction[:, 0]], axis=1)
    return np.concatenate([points, third[:, None]], axis=1)


def crop_box(image_bgr: np.ndarray, pt1, pt2) -> torch.Tensor:
    """cropBox for every float box pt1..pt2 (N, 2) image px -> (N, 3, 320, 256) float32 RGB - mean."""
    image_bgr = _check_image(image_bgr)
    pt1 = torch.as_tensor(pt1, dtype=torch.float32).reshape(-1, 2)
    pt2 = torch.as_tensor(pt2, dtype=torch.float32).reshape(-1, 2)
    out = np.empty((pt1.shape[0], 3, INPUT_HEIGHT, INPUT_WIDTH), dtype=np.float32)
    if len(out):
        ul = pt1.to(torch.int64).numpy()  # truncation toward zero, like ``.int()``
        br = (pt2 - 1).to(torch.int64).numpy()
        _warp_boxes(image_bgr, ul, br, out)
    return torch.from_numpy(out)


def _warp_boxes(image_bgr: np.ndarray, ul: np.ndarray, br: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (N, 3, 320, 256) with the crops of the integer boxes ul..br (N, 2), inclusive.

    Every warp reads a full-size canvas that is zero except the current box (OpenCV 5 computes warp
    coordinates in float32, so warping a shifted window would not be bit-equal); the box is filled
    through the input table just before its warp and cleared after it.
    """
    height, width = image_bgr.shape[:2]
    table, columns = _input_tables(image_bgr)
    matrices = crop_affine(ul, br)
    # Kept region [ul, br] (inclusive), clipped to the image; the original zeroes the outside.
    x0, y0 = np.clip(ul[:, 0], 0, width), np.clip(ul[:, 1], 0, height)
    x1, y1 = np.clip(br[:, 0] + 1, 0, width), np.clip(br[:, 1] + 1, 0, height)
    small = (x1 - x0) * (y1 - y0) <= RGBA_MAX_AREA
    size = (INPUT_WIDTH, INPUT_HEIGHT)
    if small.any():
        rgba = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGBA)
        canvas = np.zeros((height, width, 4), dtype=np.float32)
        warped = np.empty((INPUT_HEIGHT, INPUT_WIDTH, 4), dtype=np.float32)
        spare = np.empty((INPUT_HEIGHT, INPUT_WIDTH), dtype=np.float32)
        for i in np.flatnonzero(small):
            region = canvas[y0[i]:y1[i], x0[i]:x1[i]]
            if region.size:
                cv2.LUT(rgba[y0[i]:y1[i], x0[i]:x1[i]], table, dst=region)
            cv2.warpAffine(canvas, matrices[i], size, dst=warped, flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            cv2.split(warped, [out[i, 0], out[i, 1], out[i, 2], spare])
            region[...] = 0
    if not small.all():
        planes = cv2.split(image_bgr)[::-1]  # R, G, B
        canvas = np.zeros((height, width), dtype=np.float32)
        for i in np.flatnonzero(~small):
            region = canvas[y0[i]:y1[i], x0[i]:x1[i]]
            for c in range(3):
                if region.size:
                    cv2.LUT(planes[c][y0[i]:y1[i], x0[i]:x1[i]], columns[c], dst=region)
                cv2.warpAffine(canvas, matrices[i], size, dst=out[i, c], flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            region[...] = 0


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
