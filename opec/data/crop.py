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

Speed without changing a bit: OpenCV 5 computes warp coordinates in float32 from the matrix, so
warping a window cut out around the box would *not* be bit-equal to warping the whole image. Every
warp therefore reads an image with the original's geometry, but nothing is copied or masked per box
beyond what the warp can read. The image is converted (uint8 -> float through a 256-entry table that
reproduces the original's arithmetic) into a scratch RGBA image, once for all boxes or box by box
when they cover little of it. Each warp reads a view of that image ending at the box's right and
bottom edges (OpenCV treats what lies beyond as the zero border, which gives exactly what zeroed
pixels give), and only the strips left of and above the box that the warp can reach are zeroed for
it. One 4-channel warp gives the three colour planes, already in RGB order.

``normalize_to_box`` / ``denormalize_from_box`` give the box-normalised joint frame of the refiner
(x_hat = 2 ((x - x0) / w - 0.5), likewise y), in numpy or torch.
"""
from __future__ import annotations

import threading
from typing import TypeVar

import cv2
import numpy as np
import torch

INPUT_HEIGHT = 320
INPUT_WIDTH = 256
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


def _input_table(image_bgr: np.ndarray) -> np.ndarray:
    """Table uint8 value -> value/255 - mean, (1, 256, 4) float32 with channels R, G, B and a spare 0
    (for an RGBA image)."""
    # Quirk kept from ``im_to_torch``: the /255 happens only when the image maximum exceeds 1
    # (the first row nearly always decides; the whole image is read only when it does not).
    scaled = int(image_bgr[:1].max(initial=0)) > 1 or int(image_bgr.max(initial=0)) > 1
    return _TABLES[scaled]


def _make_tables() -> dict[bool, np.ndarray]:
    values = torch.arange(256, dtype=torch.float32)
    tables = {}
    for scaled in (False, True):
        rgba = torch.zeros(1, 256, 4)
        # float32 division, then float32 subtraction: the original's two roundings
        rgba[0, :, :3] = (values / 255 if scaled else values)[:, None] - torch.tensor(RGB_MEAN, dtype=torch.float32)
        tables[scaled] = rgba.numpy()
    return tables


_TABLES = _make_tables()
# OpenCV runs a table lookup on several threads only from this many pixels on (measured: a smaller
# lookup takes the same time at 1 and 2 threads).
_PARALLEL_LOOKUP_PIXELS = 1 << 18
_scratch = threading.local()


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

    The kept region of box i is [x0, x1) x [y0, y1) (``[ul, br]`` clipped to the image). Its warp reads
    ``source[:y1, :x1]``, a view of the converted image with the original's origin: whatever the warp
    would read beyond x1 or y1 is the constant-zero border, and the strips left of x0 / above y0 that
    it can reach (:func:`_reach`) are zeroed for this warp.
    """
    height, width = image_bgr.shape[:2]
    table = _input_table(image_bgr)
    matrices = crop_affine(ul, br)
    x0, y0 = np.clip(ul[:, 0], 0, width), np.clip(ul[:, 1], 0, height)
    x1, y1 = np.clip(br[:, 0] + 1, 0, width), np.clip(br[:, 1] + 1, 0, height)
    kept = (x1 > x0) & (y1 > y0)
    out[~kept] = 0  # nothing of the image is kept: the original warps an all-zero image
    if not kept.any():
        return
    source = _scratch_image(height, width)
    once = _region_to_convert_once(
        (slice(y0[kept].min(), y1[kept].max()), slice(x0[kept].min(), x1[kept].max())),
        ((x1 - x0) * (y1 - y0))[kept].sum(), height, width)
    if once is not None:
        _convert(image_bgr, table, source, once)
    reach = np.maximum(_reach(matrices), 0).tolist()
    boxes = np.stack([x0, y0, x1, y1], axis=1).tolist()
    warped = np.empty((INPUT_HEIGHT, INPUT_WIDTH, 4), dtype=np.float32)
    spare = np.empty((INPUT_HEIGHT, INPUT_WIDTH), dtype=np.float32)
    # Left to right: a box's left strip then never overlaps a later box, so only a top strip needs
    # saving and restoring (converted once, a later box may need what it held).
    for i in sorted(np.flatnonzero(kept).tolist(), key=lambda i: boxes[i][0]):
        bx0, by0, bx1, by1 = boxes[i]
        if once is None:
            _convert(image_bgr, table, source, (slice(by0, by1), slice(bx0, bx1)))
        left, top = reach[i]
        above = slice(top, by0), slice(left, bx1)  # above the box, as far right as the view goes
        saved = source[above].copy() if once is not None and top < by0 else None
        source[above] = 0
        source[by0:by1, left:bx0] = 0  # left of the box
        cv2.warpAffine(source[:by1, :bx1], matrices[i], (INPUT_WIDTH, INPUT_HEIGHT), dst=warped,
                       flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        cv2.split(warped, [out[i, 0], out[i, 1], out[i, 2], spare])
        if saved is not None:
            source[above] = saved


def _scratch_image(height: int, width: int) -> np.ndarray:
    """A (height, width, 4) float32 view of this thread's scratch image (kept between calls and grown
    when needed: 16 bytes a pixel of the largest image seen). Zero when allocated; afterwards it
    holds converted pixels of earlier images, which no warp reads."""
    buffer = getattr(_scratch, "image", None)
    if buffer is None or buffer.shape[0] < height or buffer.shape[1] < width:
        shape = (height, width) if buffer is None else (max(height, buffer.shape[0]), max(width, buffer.shape[1]))
        buffer = _scratch.image = np.zeros((*shape, 4), dtype=np.float32)
    return buffer[:height, :width]


def _region_to_convert_once(union: tuple[slice, slice], boxes_area: int, height: int, width: int):
    """The region to convert once for all boxes, or None when converting box by box is cheaper.

    ``union`` is the boxes' bounding rectangle. Box by box converts the overlaps of boxes repeatedly
    but nothing else; once converts the rectangle, on all of OpenCV's threads from
    ``_PARALLEL_LOOKUP_PIXELS`` on (a rectangle a little smaller is grown to that size: more pixels,
    less time). The cheaper is the one with fewer table lookups per thread.
    """
    threads = max(cv2.getNumThreads(), 1)
    rows, cols = union
    area = (rows.stop - rows.start) * (cols.stop - cols.start)
    if _PARALLEL_LOOKUP_PIXELS / threads < area < _PARALLEL_LOOKUP_PIXELS <= height * width:
        taller = min(height, -(-_PARALLEL_LOOKUP_PIXELS // (cols.stop - cols.start)))
        rows = _widen(rows, taller, height)
        cols = _widen(cols, -(-_PARALLEL_LOOKUP_PIXELS // taller), width)
        area = (rows.stop - rows.start) * (cols.stop - cols.start)
    cost = area / threads if area >= _PARALLEL_LOOKUP_PIXELS else area
    return (rows, cols) if cost < boxes_area else None


def _widen(span: slice, size: int, limit: int) -> slice:
    """A range of ``max(size, len(span))`` indices within [0, limit) that contains ``span``."""
    size = max(size, span.stop - span.start)
    start = min(span.start, limit - size)
    return slice(start, start + size)


def _convert(image_bgr: np.ndarray, table: np.ndarray, source: np.ndarray, region: tuple[slice, slice]) -> None:
    """source[region] = table[RGBA(image_bgr[region])]: the original's value/255 - mean, in RGB order."""
    cv2.LUT(cv2.cvtColor(image_bgr[region], cv2.COLOR_BGR2RGBA), table, dst=source[region])


def _reach(matrices: np.ndarray) -> np.ndarray:
    """(N, 2) int64: the leftmost column and the top row of the image that the warp of each crop can
    read. ``matrices`` (N, 2, 3) map image px to crop px; the reach is where the crop's corners come
    from, less 1 px for the bilinear neighbour and the warp's float32 arithmetic (errors ~1e-4 px).
    A singular matrix (a box of one pixel) reaches (0, 0): all its crop pixels come from there."""
    (a, b), (c, d) = matrices[:, 0, :2].T, matrices[:, 1, :2].T
    det = a * d - b * c
    inverse = np.stack([np.stack([d, -b], 1), np.stack([-c, a], 1)], 1) / np.where(det == 0, 1, det)[:, None, None]
    corners = np.array([[0, 0], [INPUT_WIDTH - 1, 0], [0, INPUT_HEIGHT - 1], [INPUT_WIDTH - 1, INPUT_HEIGHT - 1]],
                       dtype=np.float64)
    sources = np.einsum("nij,nkj->nki", inverse, corners[None] - matrices[:, None, :, 2])
    reach = np.floor(sources.min(axis=1)).astype(np.int64) - 1
    reach[det == 0] = 0
    return reach


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
