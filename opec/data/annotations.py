"""Readers for OPEC-Net's processed annotation files (docs/datasets.md), with validation.

* training JSON: a list, one element per image, ``{img_name, pair: [{score, yolo_bbox, gt, dt}]}``;
  ``gt`` / ``dt`` are 12x3 ``[x, y, v|score]`` in image pixels, ``yolo_bbox`` the corner-format crop
  box. The file's dataset (``opec.datasets``) turns ``img_name`` into a file name (COCO pads it with
  zeros: ``1414.jpg`` -> ``000000001414.jpg``). Black lists skip entries by their position in the file.
* prediction JSONs (``test_compute_map++.json`` and the best-match file): COCO results lists whose
  ``keypoints`` hold 12 joints (36 numbers) and whose ``bbox`` is the corner-format crop box.

Every problem is reported as a one-line :class:`DataError` naming the file, the entry index and the
field; nothing is skipped silently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from opec.fileio import read_json
from opec.keypoints import OPEC12

NUM_JOINTS = OPEC12.num_joints
# How many missing image paths a start-up error lists before "...".
_MAX_LISTED = 5


class DataError(ValueError):
    """Malformed or missing data; the message names the file, the entry and the field."""


@dataclass
class TrainImage:
    """One training image with its persons (P of them).

    boxes (P,4) float32 corner-format crop boxes in image pixels; scores (P,) float32;
    gts (P,12,3) float32 image-pixel GT ``x, y, v``; dts (P,12,3) float64 image-pixel AlphaPose
    ``x, y, score`` (float64 as the original normalises them, docs/training.md).
    """

    image_path: Path
    boxes: np.ndarray
    scores: np.ndarray
    gts: np.ndarray
    dts: np.ndarray
    source: str  # "<json file>[<index>]" for error messages


def _load_json(path: Path):
    return read_json(path, "a processed annotation file", DataError)


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _numbers(value, shape: tuple[int, ...], where: str, dtype=np.float64) -> np.ndarray:
    """``value`` as an array of ``shape`` of finite numbers, else DataError naming ``where``."""
    size = int(np.prod(shape))
    flat = value
    if isinstance(value, list) and value and isinstance(value[0], list):
        flat = [x for row in value for x in (row if isinstance(row, list) else [row])]
    if not isinstance(flat, list) or len(flat) != size or not all(_is_number(x) for x in flat):
        raise DataError(f"{where}: expected {'x'.join(map(str, shape))} finite numbers")
    return np.asarray(flat, dtype=dtype).reshape(shape)


def _box(value, where: str) -> np.ndarray:
    box = _numbers(value, (4,), where)
    if not (box[2] > box[0] and box[3] > box[1]):
        raise DataError(f"{where}: expected a corner-format box [x0, y0, x1, y1] with x1 > x0 and "
                        f"y1 > y0, got {list(box)}")
    return box


def read_train_json(json_file: str | Path, dataset: str, img_dir: str | Path,
                    black_list=()) -> list[TrainImage]:
    """Read one training JSON of ``dataset`` (an ``opec.datasets`` name: its images' file-name
    rule), skipping the black-listed indices."""
    from opec.datasets import dataset_spec

    json_file = Path(json_file)
    try:
        spec = dataset_spec(dataset)
    except ValueError as exc:
        raise DataError(f"{json_file}: type: {exc}") from None
    data = _load_json(json_file)
    if not isinstance(data, list):
        raise DataError(f"{json_file}: expected a JSON list of images, got {type(data).__name__}")
    skip = set(int(i) for i in black_list)
    images = []
    for index, entry in enumerate(data):
        if index in skip:
            continue
        where = f"{json_file}[{index}]"
        if not isinstance(entry, dict):
            raise DataError(f"{where}: expected an object with 'img_name' and 'pair'")
        name = entry.get("img_name")
        if not isinstance(name, str) or not name:
            raise DataError(f"{where}.img_name: expected a non-empty file name string")
        pairs = entry.get("pair")
        if not isinstance(pairs, list) or not pairs:
            raise DataError(f"{where}.pair: expected a non-empty list of persons")
        boxes, scores, gts, dts = [], [], [], []
        for k, pair in enumerate(pairs):
            pw = f"{where}.pair[{k}]"
            if not isinstance(pair, dict):
                raise DataError(f"{pw}: expected an object with score, yolo_bbox, gt, dt")
            for field in ("score", "yolo_bbox", "gt", "dt"):
                if field not in pair:
                    raise DataError(f"{pw}.{field}: missing")
            if not _is_number(pair["score"]):
                raise DataError(f"{pw}.score: expected a finite number")
            scores.append(pair["score"])
            boxes.append(_box(pair["yolo_bbox"], f"{pw}.yolo_bbox"))
            gts.append(_numbers(pair["gt"], (NUM_JOINTS, 3), f"{pw}.gt"))
            dts.append(_numbers(pair["dt"], (NUM_JOINTS, 3), f"{pw}.dt"))
        images.append(TrainImage(
            image_path=Path(img_dir) / spec.train_image_name(name),
            boxes=np.stack(boxes).astype(np.float32),
            scores=np.asarray(scores, dtype=np.float32),
            gts=np.stack(gts).astype(np.float32),
            dts=np.stack(dts),
            source=where,
        ))
    return images


def read_predictions(json_file: str | Path) -> list[dict]:
    """Read a results list with crop boxes (docs/datasets.md) and validate every entry.

    Returns the entries as loaded (``image_id`` kept as in the file: the evaluator accepts the
    upstream "N.jpg" strings) after checking ``image_id``, ``keypoints`` (36 numbers), ``score``
    and ``bbox`` (corner format).
    """
    json_file = Path(json_file)
    data = _load_json(json_file)
    if not isinstance(data, list):
        raise DataError(f"{json_file}: expected a JSON list of results, got {type(data).__name__}")
    for index, entry in enumerate(data):
        where = f"{json_file}[{index}]"
        if not isinstance(entry, dict):
            raise DataError(f"{where}: expected a result object")
        image_id = entry.get("image_id")
        if not (isinstance(image_id, str) and image_id) and not (isinstance(image_id, int)
                                                                 and not isinstance(image_id, bool)):
            raise DataError(f"{where}.image_id: expected an image file name string or an integer id")
        _numbers(entry.get("keypoints"), (NUM_JOINTS * 3,), f"{where}.keypoints")
        if not _is_number(entry.get("score")):
            raise DataError(f"{where}.score: expected a finite number")
        _box(entry.get("bbox"), f"{where}.bbox")
    return data


def check_images_exist(paths, what: str) -> None:
    """Raise one DataError listing how many of ``paths`` are missing and the first few."""
    missing = sorted({str(p) for p in paths if not Path(p).is_file()})
    if missing:
        listed = ", ".join(missing[:_MAX_LISTED]) + (", ..." if len(missing) > _MAX_LISTED else "")
        raise DataError(f"{what}: {len(missing)} image file(s) not found: {listed}")


def read_image(path: str | Path) -> np.ndarray:
    """Read an image as BGR uint8 (H,W,3); an unreadable file raises DataError naming it."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"{path}: cannot read the image (missing, truncated or not an image)")
    return image
