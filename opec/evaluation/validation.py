"""Reading and checking ground-truth and results files for keypoint evaluation.

Every problem becomes an :class:`EvaluationError` whose one-line message names the file, the
field and what was expected, e.g. ``preds.json: [12].keypoints: expected 42 numbers (14 joints
x 3), got 51``. The readers return fresh, normalised annotation dicts ready for the COCO
matching core; the caller's data is never modified.
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class EvaluationError(ValueError):
    """Bad evaluation input; the message is one line naming the file and the field."""


_REAL_KINDS = "iuf"
_IMAGE_NAME = re.compile(r"^\s*(\d+)(\.[A-Za-z0-9]+)?\s*$")  # "103319.jpg" or "103319"


def read_json(path: str | os.PathLike, what: str):
    """Parse a JSON file; a missing file or invalid JSON becomes an :class:`EvaluationError`."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise EvaluationError(f"{path}: file not found (expected the {what} JSON file)") from None
    except IsADirectoryError:
        raise EvaluationError(f"{path}: is a directory (expected the {what} JSON file)") from None
    except json.JSONDecodeError as err:
        raise EvaluationError(
            f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
    except UnicodeDecodeError as err:
        raise EvaluationError(f"{path}: not UTF-8 text ({err.reason}); expected the {what} JSON file") from None
    except OSError as err:
        raise EvaluationError(f"{path}: cannot read the {what} JSON file ({err.strerror})") from None


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _require(record, key: str, source: str, field: str, expected: str):
    if not isinstance(record, dict):
        raise EvaluationError(f"{source}: {field}: expected an object, got {type(record).__name__}")
    if key not in record:
        raise EvaluationError(f"{source}: {field}.{key}: missing; expected {expected}")
    return record[key]


def _number_matrix(rows: Sequence, widths: tuple[int, ...], source: str, field: str, expected: str) -> np.ndarray:
    """Stack ``rows`` (each a sequence of ``widths[0]`` (or another allowed width) numbers) into a
    float64 matrix, naming the first offending row/element of ``field`` (``{i}`` = row index)."""
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple, np.ndarray)):
            raise EvaluationError(
                f"{source}: {field.format(i=i)}: expected a list of {expected}, got {type(row).__name__}")
        if len(row) not in widths:
            raise EvaluationError(
                f"{source}: {field.format(i=i)}: expected {expected}, got {len(row)} values")
    if not rows:
        return np.zeros((0, widths[0]), dtype=np.float64)
    if len({len(row) for row in rows}) > 1:
        first = next(i for i, row in enumerate(rows) if len(row) != len(rows[0]))
        raise EvaluationError(
            f"{source}: {field.format(i=first)}: has {len(rows[first])} values but earlier entries have "
            f"{len(rows[0])}; all entries must have the same number of joints")
    matrix = np.asarray(rows)
    if matrix.dtype.kind not in _REAL_KINDS or matrix.ndim != 2:
        for i, row in enumerate(rows):
            for j, value in enumerate(row):
                if not _is_real(value):
                    raise EvaluationError(
                        f"{source}: {field.format(i=i)}[{j}]: expected a number, got {value!r}")
    matrix = matrix.astype(np.float64, copy=False)
    bad = np.argwhere(~np.isfinite(matrix))
    if len(bad):
        i, j = bad[0]
        raise EvaluationError(
            f"{source}: {field.format(i=int(i))}[{int(j)}]: expected a finite number, got {matrix[i, j]!r}")
    return matrix


@dataclass
class GroundTruth:
    """Normalised ground truth.

    ``annotations`` are fresh dicts (``id`` = 1-based position in the file, so file order -- the
    order the matcher breaks OKS ties in -- is kept), with ``keypoints`` restricted to the
    evaluated joints, the OKS ``area`` already chosen, ``num_keypoints`` and ``iscrowd`` as stored.
    The arrays hold the same per annotation: ``keypoints`` (G, K, 3) x, y, v of the evaluated
    joints, ``boxes`` (G, 4) x, y, w, h, ``areas`` (G,), ``image_ids`` / ``category_ids`` (G,).
    ``crowd_index`` maps image id -> ``images[].crowdIndex`` (None when the file has none);
    ``file_names`` maps ``images[].file_name`` -> image id.
    """

    path: Path
    images: list[dict]
    annotations: list[dict]
    categories: list[dict]
    crowd_index: dict[int, float] | None
    keypoints: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray
    image_ids: np.ndarray
    category_ids: np.ndarray
    file_names: dict[str, int]


@dataclass
class Detections:
    """Normalised results: ``records`` (fresh dicts for the matcher, ``id`` = position + 1) and the
    same as arrays: ``xy`` (D, K, 2) image pixels of the evaluated joints, ``scores`` (D,),
    ``image_ids`` / ``category_ids`` (D,)."""

    records: list[dict]
    xy: np.ndarray
    scores: np.ndarray
    image_ids: np.ndarray
    category_ids: np.ndarray


def read_ground_truth(path: str | os.PathLike, num_joints: int, joint_index: Sequence[int],
                      oks_scale: str, crowd_index: str) -> GroundTruth:
    """Read and check a COCO-format keypoint GT file.

    num_joints: joints per GT annotation in the file (14 CrowdPose, 17 COCO).
    joint_index: the joints that enter the OKS (all, or the OPEC-12 subset).
    oks_scale: ``'bbox053'`` -> area = 0.53 * w * h of the GT box (CrowdPose API; any stored area is
        not used), ``'stored'`` -> the stored ``area`` (pycocotools).
    crowd_index: ``'required'`` (every image needs ``crowdIndex``), ``'optional'`` (all or none),
        ``'ignore'``.
    """
    path = Path(path)
    source = str(path)
    data = read_json(path, "ground-truth")
    if not isinstance(data, dict):
        raise EvaluationError(f"{source}: top level: expected a COCO-format object, got {type(data).__name__}")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise EvaluationError(f"{source}: {key}: expected a list"
                                  + (", missing" if key not in data else f", got {type(data[key]).__name__}"))

    images = []
    for i, image in enumerate(data["images"]):
        image_id = _require(image, "id", source, f"images[{i}]", "an integer image id")
        if not _is_int(image_id):
            raise EvaluationError(f"{source}: images[{i}].id: expected an integer, got {image_id!r}")
        images.append({"id": int(image_id)})
    image_ids = {image["id"] for image in images}
    if len(image_ids) != len(images):
        raise EvaluationError(f"{source}: images[].id: image ids must be unique")

    categories = []
    for i, category in enumerate(data["categories"]):
        category_id = _require(category, "id", source, f"categories[{i}]", "an integer category id")
        if not _is_int(category_id):
            raise EvaluationError(f"{source}: categories[{i}].id: expected an integer, got {category_id!r}")
        categories.append({"id": int(category_id)})
    category_ids = {category["id"] for category in categories}

    annotations = data["annotations"]
    for i, ann in enumerate(annotations):
        field = f"annotations[{i}]"
        image_id = _require(ann, "image_id", source, field, "an image id")
        if not _is_int(image_id) or int(image_id) not in image_ids:
            raise EvaluationError(f"{source}: {field}.image_id: {image_id!r} is not an id in images[]")
        category_id = _require(ann, "category_id", source, field, "a category id")
        if not _is_int(category_id) or int(category_id) not in category_ids:
            raise EvaluationError(f"{source}: {field}.category_id: {category_id!r} is not an id in categories[]")
        num_keypoints = _require(ann, "num_keypoints", source, field, "the number of labelled joints")
        if not _is_real(num_keypoints):
            raise EvaluationError(f"{source}: {field}.num_keypoints: expected a number, got {num_keypoints!r}")
        iscrowd = ann.get("iscrowd", 0)
        if not _is_int(iscrowd) and not isinstance(iscrowd, bool):
            raise EvaluationError(f"{source}: {field}.iscrowd: expected 0 or 1, got {iscrowd!r}")
        _require(ann, "keypoints", source, field, f"{num_joints * 3} numbers")
        _require(ann, "bbox", source, field, "[x, y, w, h]")
        if oks_scale == "stored":
            _require(ann, "area", source, field, "the object area (the OKS scale of coco/ochuman)")

    keypoints = _number_matrix([ann["keypoints"] for ann in annotations], (num_joints * 3,), source,
                               "annotations[{i}].keypoints", f"{num_joints * 3} numbers ({num_joints} joints x 3)")
    boxes = _number_matrix([ann["bbox"] for ann in annotations], (4,), source, "annotations[{i}].bbox",
                           "4 numbers [x, y, w, h]")
    if oks_scale == "bbox053":
        # CrowdPose API: OKS scale and area-range area are 0.53 * w * h of the GT box.
        areas = 0.53 * boxes[:, 2] * boxes[:, 3]
    else:
        areas = _number_matrix([[ann["area"]] for ann in annotations], (1,), source, "annotations[{i}].area",
                               "1 number")[:, 0]

    keypoints = keypoints.reshape(len(annotations), num_joints, 3)[:, list(joint_index), :]
    flat = keypoints.reshape(len(annotations), len(joint_index) * 3)
    normalised = [
        {
            "id": i + 1,
            "image_id": int(ann["image_id"]),
            "category_id": int(ann["category_id"]),
            "keypoints": flat[i].tolist(),
            "bbox": boxes[i].tolist(),
            "area": float(areas[i]),
            "num_keypoints": ann["num_keypoints"],  # only compared with 0 (ignore flag)
            "iscrowd": int(ann.get("iscrowd", 0)),
        }
        for i, ann in enumerate(annotations)
    ]

    crowd = None
    if crowd_index != "ignore":
        has = [isinstance(image, dict) and "crowdIndex" in image for image in data["images"]]
        if crowd_index == "required" or any(has):
            crowd = {}
            for i, image in enumerate(data["images"]):
                if not has[i]:
                    raise EvaluationError(
                        f"{source}: images[{i}].crowdIndex: missing; AP_easy/medium/hard need it on every image "
                        "(turn them off with --no-easy-medium-hard / easy_medium_hard=False)")
                value = image["crowdIndex"]
                if not _is_real(value) or not math.isfinite(value):
                    raise EvaluationError(f"{source}: images[{i}].crowdIndex: expected a finite number, got {value!r}")
                crowd[int(image["id"])] = float(value)
    file_names = {}
    for image in data["images"]:
        if isinstance(image.get("file_name"), str):
            file_names.setdefault(image["file_name"], int(image["id"]))
    return GroundTruth(path, images, normalised, categories, crowd, keypoints, boxes, areas,
                       np.array([ann["image_id"] for ann in normalised], dtype=np.int64),
                       np.array([ann["category_id"] for ann in normalised], dtype=np.int64), file_names)


def image_id_from(value, source: str, field: str) -> int:
    """Result ``image_id`` -> int: an integer, or an upstream-style file-name string ``"103319.jpg"``."""
    if _is_int(value):
        return int(value)
    if isinstance(value, str):
        match = _IMAGE_NAME.match(value)
        if match:
            return int(match.group(1))
    raise EvaluationError(f"{source}: {field}: expected an integer image id or a name like \"103319.jpg\", "
                          f"got {value!r}")


def read_results(results, gt: GroundTruth, num_joints: int, joint_index: Sequence[int]) -> Detections:
    """Check a results list (or the path of a results JSON file) and return them normalised.

    ``image_id`` may be an int, a GT ``file_name``, or upstream's ``"<id>.jpg"``.

    Accepts ``num_joints`` joints per person, or already-selected ``len(joint_index)`` joints when
    that is a subset (OPEC-12 results). Detections get ``id`` = position + 1 and ``area`` the way
    ``COCO.loadRes`` does it: when the first result carries a non-empty ``bbox``, area = bbox w*h
    for all (upstream OPEC results take this branch); otherwise the w*h of the box around all
    evaluated predicted points.
    """
    if isinstance(results, (str, os.PathLike)):
        source = str(results)
        results = read_json(results, "results")
    else:
        source = "results"
    if not isinstance(results, list):
        raise EvaluationError(f"{source}: top level: expected a list of result objects, got {type(results).__name__}")
    image_ids = {image["id"] for image in gt.images}
    category_ids = {category["id"] for category in gt.categories}
    first_box = results[0].get("bbox") if results and isinstance(results[0], dict) else None
    use_bbox = first_box is not None and not (isinstance(first_box, (list, tuple, np.ndarray)) and len(first_box) == 0)
    widths = (num_joints * 3,) if len(joint_index) == num_joints else (num_joints * 3, len(joint_index) * 3)
    expected = " or ".join(f"{w} numbers ({w // 3} joints x 3)" for w in widths)

    ids, categories, keypoints, boxes = [], [], [], []
    for i, result in enumerate(results):
        field = f"[{i}]"
        raw_id = _require(result, "image_id", source, field, "an image id")
        # A string is first looked up as a GT file name (OCHuman: "003799.jpg" is image 1), then
        # read as upstream's "<id>.jpg".
        image_id = gt.file_names.get(raw_id) if isinstance(raw_id, str) else None
        if image_id is None:
            image_id = image_id_from(raw_id, source, f"{field}.image_id")
        if image_id not in image_ids:
            raise EvaluationError(f"{source}: {field}.image_id: {result['image_id']!r} is not an image of {gt.path}")
        category_id = _require(result, "category_id", source, field, "a category id")
        if not _is_int(category_id) or int(category_id) not in category_ids:
            raise EvaluationError(f"{source}: {field}.category_id: {category_id!r} is not a category of {gt.path}")
        values = _require(result, "keypoints", source, field, expected)
        keypoints.append(values.reshape(-1) if isinstance(values, np.ndarray) else values)  # (J, 3) arrays too
        _require(result, "score", source, field, "a number")
        if use_bbox:
            boxes.append(_require(result, "bbox", source, field, "4 numbers (the first result has a bbox)"))
        ids.append(image_id)
        categories.append(int(category_id))

    kps = _number_matrix(keypoints, widths, source, "[{i}].keypoints", expected)
    scores = _number_matrix([[result["score"]] for result in results], (1,), source, "[{i}].score", "1 number")[:, 0]
    kps = kps.reshape(len(kps), kps.shape[1] // 3, 3)
    if kps.shape[1] == num_joints:
        kps = kps[:, list(joint_index), :]
    if use_bbox:
        box = _number_matrix(boxes, (4,), source, "[{i}].bbox", "4 numbers")
        areas = box[:, 2] * box[:, 3]
    else:
        box = np.concatenate([kps[:, :, :2].min(axis=1), kps[:, :, :2].max(axis=1)], axis=1)
        box[:, 2:] -= box[:, :2]
        areas = box[:, 2] * box[:, 3]
    flat = kps.reshape(len(kps), kps.shape[1] * 3)
    records = [
        {"id": i + 1, "image_id": ids[i], "category_id": categories[i], "keypoints": flat[i].tolist(),
         "score": float(scores[i]), "area": float(areas[i]), "bbox": box[i].tolist()}
        for i in range(len(results))
    ]
    return Detections(records, kps[:, :, :2], scores, np.array(ids, dtype=np.int64),
                      np.array(categories, dtype=np.int64))
