"""Reading and checking ground-truth and results files for keypoint evaluation.

Every problem becomes an :class:`EvaluationError` whose one-line message names the file, the
field and what was expected, e.g. ``preds.json: [12].keypoints: expected 42 numbers (14 joints
x 3), got 51``. The readers return numpy arrays for the matching core; the caller's data is never
modified.

Time is linear in the size of the input: JSON is parsed by msgspec (several times faster than
the standard library; a file it rejects -- for instance one holding the ``NaN`` tokens Python's
``json`` writes -- is parsed again by the standard library, so the error names the field), each
field is pulled out of all records with one comprehension and checked as a whole array, and a
record-by-record scan runs only to name the first bad record. The garbage collector is paused
while the big lists are built: they hold no reference cycles, and its repeated full passes over
the growing heap were a large, super-linear part of reading a big file.
"""
from __future__ import annotations

import contextlib
import gc
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from opec import fileio
from opec.keypoints import MAX_COORDINATE


class EvaluationError(ValueError):
    """Bad evaluation input; the message is one line naming the file and the field."""


_REAL_KINDS = "iuf"
_IMAGE_NAME = re.compile(r"^\s*(\d+)(\.[A-Za-z0-9]+)?\s*$")  # "103319.jpg" or "103319"


@contextlib.contextmanager
def paused_gc():
    """Pause the garbage collector (if enabled) while big acyclic lists are built and read.

    The readers drop the parsed lists before the pause ends, so the collector never walks them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_json(path: str | os.PathLike, what: str):
    """Parse a JSON file (:func:`opec.fileio.read_json`); problems become :class:`EvaluationError`."""
    return fileio.read_json(path, f"the {what} JSON file", EvaluationError)


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
            f"{source}: {field.format(i=int(i))}[{int(j)}]: expected a finite number, got {float(matrix[i, j])!r}")
    return matrix


_MISSING = object()


def _column(records: list, key: str, source: str, field: str, expected: str, default=_MISSING) -> list:
    """``[record[key] for record in records]`` (``default`` for a missing key, when given); a
    record that is not an object, or lacks a required key, is named (``field``: "[{i}]")."""
    try:
        if default is _MISSING:
            return [record[key] for record in records]
        return [record.get(key, default) for record in records]
    except (KeyError, TypeError, AttributeError):
        for i, record in enumerate(records):
            if default is _MISSING:
                _require(record, key, source, field.format(i=i), expected)
            elif not isinstance(record, dict):
                raise EvaluationError(f"{source}: {field.format(i=i)}: expected an object, "
                                      f"got {type(record).__name__}") from None
        raise


def _int_array(values: list) -> np.ndarray | None:
    """int64 array of ``values`` when every one is an integer (not a bool), else None."""
    if set(map(type, values)) <= {int}:
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            return None
    if all(_is_int(value) for value in values):
        return np.array([int(value) for value in values], dtype=np.int64)
    return None


def _first(values: list, bad) -> int:
    """Index of the first value for which ``bad(value)`` holds."""
    return next(i for i, value in enumerate(values) if bad(value))


def _real_array(values: list, source: str, field: str) -> np.ndarray:
    """float64 array of finite numbers (``field``: "[{i}].score")."""
    if not set(map(type, values)) <= {int, float}:
        for i, value in enumerate(values):
            if not _is_real(value):
                raise EvaluationError(f"{source}: {field.format(i=i)}: expected a number, got {value!r}")
    array = np.array(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(array))
    if len(bad):
        i = int(bad[0])
        raise EvaluationError(f"{source}: {field.format(i=i)}: expected a finite number, got {float(array[i])!r}")
    return array


def _plain_numbers(values) -> bool:
    """Whether every value is a Python int/float (or bool): summing them is the cheapest check
    that runs in C, and raises TypeError on anything else (str, None, a nested list)."""
    try:
        sum(values, 0.0)
    except (TypeError, OverflowError):
        return False
    return True


def _matrix(rows: list, widths: tuple[int, ...], source: str, field: str, expected: str) -> np.ndarray:
    """:func:`_number_matrix` with a fast path for lists of plain numbers (the usual JSON case)."""
    if rows and set(map(type, rows)) <= {list}:
        lengths = np.fromiter(map(len, rows), dtype=np.intp, count=len(rows))
        width = int(lengths[0])
        if width in widths and (lengths == width).all() and _plain_numbers(chain.from_iterable(rows)):
            matrix = np.fromiter(chain.from_iterable(rows), dtype=np.float64, count=len(rows) * width)
            matrix = matrix.reshape(len(rows), width)
            bad = np.argwhere(~np.isfinite(matrix))
            if len(bad):
                i, j = bad[0]
                raise EvaluationError(f"{source}: {field.format(i=int(i))}[{int(j)}]: expected a finite number, "
                                      f"got {float(matrix[i, j])!r}")
            return matrix
    return _number_matrix(rows, widths, source, field, expected)


def _check_coordinates(keypoints: np.ndarray, source: str, field: str) -> None:
    """x, y of (N, J, 3) keypoints within ±MAX_COORDINATE pixels (larger values overflow the OKS)."""
    far = np.argwhere(np.abs(keypoints[:, :, :2]) > MAX_COORDINATE)
    if len(far):
        i, j, c = (int(v) for v in far[0])
        raise EvaluationError(f"{source}: {field.format(i=i)}[{3 * j + c}]: expected a pixel coordinate within "
                              f"±{MAX_COORDINATE:g}, got {float(keypoints[i, j, c])!r}")


def _ids_in(values: np.ndarray, known: np.ndarray) -> tuple[np.ndarray, int | None]:
    """Positions of ``values`` in the sorted ``known`` ids, and the first value not there (or None)."""
    position = np.searchsorted(known, values).clip(max=max(len(known) - 1, 0))
    missing = np.flatnonzero(known[position] != values) if len(known) else np.arange(len(values))
    return position, (int(missing[0]) if len(missing) else None)


@dataclass
class GroundTruth:
    """Checked ground truth as arrays.

    Images and categories: ``image_ids`` (I,) and ``category_ids`` (C,), sorted (the order
    pycocotools evaluates them in); ``crowd_index`` (I,) ``images[].crowdIndex`` or None when not
    read; ``file_names`` maps ``images[].file_name`` -> image id.
    Annotations, in file order (the order the matcher breaks OKS ties in): ``image_index`` /
    ``category_index`` (G,) positions in ``image_ids`` / ``category_ids``; ``keypoints`` (G, K, 3)
    x, y, v of the evaluated joints; ``boxes`` (G, 4) x, y, w, h; ``areas`` (G,) the OKS scale and
    area-range area; ``iscrowd`` (G,) bool; ``num_keypoints`` (G,) as stored (NaN where absent,
    allowed only when not required); ``labelled`` (G,) joints with v > 0 among all the file's
    joints.
    """

    path: Path
    image_ids: np.ndarray
    category_ids: np.ndarray
    crowd_index: np.ndarray | None
    file_names: dict[str, int]
    image_index: np.ndarray
    category_index: np.ndarray
    keypoints: np.ndarray
    boxes: np.ndarray
    areas: np.ndarray
    iscrowd: np.ndarray
    num_keypoints: np.ndarray
    labelled: np.ndarray


@dataclass
class Detections:
    """Checked results as arrays, in results-file order: ``xy`` (D, K, 2) image pixels of the
    evaluated joints (a view); ``scores`` (D,); ``image_index`` / ``category_index`` (D,) positions in the
    GT's ``image_ids`` / ``category_ids``; ``areas`` (D,) the area ``COCO.loadRes`` gives (for the
    area ranges); ``boxes`` (D, 4) x0, y0, x1, y1 around the evaluated joints; ``any_joint_score``
    (D,) whether some joint has a score > 0 (among all the result's joints); ``joint_scores`` (D, K)
    the scores of the evaluated joints (a view)."""

    xy: np.ndarray
    scores: np.ndarray
    image_index: np.ndarray
    category_index: np.ndarray
    areas: np.ndarray
    boxes: np.ndarray
    any_joint_score: np.ndarray
    joint_scores: np.ndarray


def read_ground_truth(path: str | os.PathLike, num_joints: int, joint_index: Sequence[int],
                      oks_scale: str, crowd_index: str, require_num_keypoints: bool = True) -> GroundTruth:
    """Read and check a COCO-format keypoint GT file.

    num_joints: joints per GT annotation in the file (14 CrowdPose, 17 COCO).
    joint_index: the joints that enter the OKS (all, or the OPEC-12 subset).
    oks_scale: ``'bbox053'`` -> area = 0.53 * w * h of the GT box (CrowdPose API; any stored area is
        not used), ``'stored'`` -> the stored ``area`` (pycocotools).
    crowd_index: ``'required'`` (every image needs ``crowdIndex``), ``'optional'`` (all or none),
        ``'ignore'``.
    require_num_keypoints: a GT without ``num_keypoints`` is an error (else it reads as NaN).
    """
    path = Path(path)
    with paused_gc():
        data = read_json(path, "ground-truth")
        if not isinstance(data, dict):
            raise EvaluationError(f"{path}: top level: expected a COCO-format object, got {type(data).__name__}")
        for key in ("images", "annotations", "categories"):
            if not isinstance(data.get(key), list):
                raise EvaluationError(f"{path}: {key}: expected a list"
                                      + (", missing" if key not in data else f", got {type(data[key]).__name__}"))
        gt = _ground_truth(data, path, num_joints, joint_index, oks_scale, crowd_index, require_num_keypoints)
        del data  # freed while the collector is paused
    return gt


def _ground_truth(data: dict, path: Path, num_joints: int, joint_index: Sequence[int], oks_scale: str,
                  crowd_index: str, require_num_keypoints: bool) -> GroundTruth:
    source = str(path)
    images, categories, annotations = data["images"], data["categories"], data["annotations"]

    raw_ids = _column(images, "id", source, "images[{i}]", "an integer image id")
    ids = _int_array(raw_ids)
    if ids is None:
        i = _first(raw_ids, lambda v: not _is_int(v))
        raise EvaluationError(f"{source}: images[{i}].id: expected an integer, got {raw_ids[i]!r}")
    image_ids = np.unique(ids)
    if len(image_ids) != len(ids):
        raise EvaluationError(f"{source}: images[].id: image ids must be unique")

    raw_categories = _column(categories, "id", source, "categories[{i}]", "an integer category id")
    category_ids = _int_array(raw_categories)
    if category_ids is None:
        i = _first(raw_categories, lambda v: not _is_int(v))
        raise EvaluationError(f"{source}: categories[{i}].id: expected an integer, got {raw_categories[i]!r}")
    category_ids = np.unique(category_ids)

    field = "annotations[{i}]"
    raw_image = _column(annotations, "image_id", source, field, "an image id")
    raw_category = _column(annotations, "category_id", source, field, "a category id")
    image_index, category_index = np.zeros(0, np.intp), np.zeros(0, np.intp)
    for raw, known, name, into in ((raw_image, image_ids, "image_id", "images[]"),
                                   (raw_category, category_ids, "category_id", "categories[]")):
        values = _int_array(raw)
        i = _first(raw, lambda v: not _is_int(v)) if values is None else _ids_in(values, known)[1]
        if i is not None:
            raise EvaluationError(f"{source}: annotations[{i}].{name}: {raw[i]!r} is not an id in {into}")
        if name == "image_id":
            image_index = _ids_in(values, known)[0]
        else:
            category_index = _ids_in(values, known)[0]

    num_keypoints = _column(annotations, "num_keypoints", source, field, "the number of labelled joints",
                            **({} if require_num_keypoints else {"default": None}))
    if not set(map(type, num_keypoints)) <= {int, float}:
        for i, value in enumerate(num_keypoints):
            if not (_is_real(value) or (value is None and not require_num_keypoints)):
                raise EvaluationError(f"{source}: annotations[{i}].num_keypoints: expected a number, got {value!r}")
    num_keypoints = np.array([np.nan if value is None else value for value in num_keypoints], dtype=np.float64)
    iscrowd = _column(annotations, "iscrowd", source, field, "", default=0)
    if not set(map(type, iscrowd)) <= {int, bool}:
        i = _first(iscrowd, lambda v: not (_is_int(v) or isinstance(v, (bool, np.bool_))))
        raise EvaluationError(f"{source}: annotations[{i}].iscrowd: expected 0 or 1, got {iscrowd[i]!r}")
    iscrowd = np.array(iscrowd, dtype=np.int64) != 0
    keypoints = _matrix(_column(annotations, "keypoints", source, field, f"{num_joints * 3} numbers"),
                        (num_joints * 3,), source, "annotations[{i}].keypoints",
                        f"{num_joints * 3} numbers ({num_joints} joints x 3)")
    boxes = _matrix(_column(annotations, "bbox", source, field, "[x, y, w, h]"), (4,), source,
                    "annotations[{i}].bbox", "4 numbers [x, y, w, h]")
    empty = np.flatnonzero((boxes[:, 2] <= 0) | (boxes[:, 3] <= 0))
    if len(empty):
        i = int(empty[0])
        raise EvaluationError(f"{source}: annotations[{i}].bbox: expected a positive width and height, got "
                              f"{[float(v) for v in boxes[i]]}")
    _check_coordinates(keypoints.reshape(len(annotations), -1, 3), source, "annotations[{i}].keypoints")
    if oks_scale == "bbox053":
        # CrowdPose API: OKS scale and area-range area are 0.53 * w * h of the GT box.
        areas = 0.53 * boxes[:, 2] * boxes[:, 3]
    else:
        areas = _real_array(_column(annotations, "area", source, field,
                                    "the object area (the OKS scale of coco/ochuman)"),
                            source, "annotations[{i}].area")

    keypoints = keypoints.reshape(len(annotations), num_joints, 3)
    labelled = np.count_nonzero(keypoints[:, :, 2] > 0, axis=1)
    keypoints = keypoints[:, list(joint_index), :]

    crowd = None
    if crowd_index != "ignore":
        absent = object()
        values = _column(images, "crowdIndex", source, "images[{i}]", "", default=absent)
        has = [value is not absent for value in values]
        if crowd_index == "required" or any(has):
            if not all(has):
                i = has.index(False)
                raise EvaluationError(
                    f"{source}: images[{i}].crowdIndex: missing; AP_easy/medium/hard need it on every image "
                    "(turn them off with --no-easy-medium-hard / easy_medium_hard=False)")
            crowd = _real_array(values, source, "images[{i}].crowdIndex")[np.argsort(ids, kind="stable")]
    names = _column(images, "file_name", source, "images[{i}]", "", default=None)
    file_names = {name: image for name, image in zip(reversed(names), reversed(raw_ids)) if isinstance(name, str)}
    return GroundTruth(path, image_ids, category_ids, crowd, file_names, image_index, category_index, keypoints,
                       boxes, areas, iscrowd, num_keypoints, labelled)


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
    """Check a results list (or the path of a results JSON file) and return it as arrays.

    ``image_id`` may be an int, a GT ``file_name``, or upstream's ``"<id>.jpg"``.

    Accepts ``num_joints`` joints per person, or already-selected ``len(joint_index)`` joints when
    that is a subset (OPEC-12 results). Detection areas follow ``COCO.loadRes``: when the first
    result carries a non-empty ``bbox``, area = bbox w*h for all (upstream OPEC results take this
    branch); otherwise the w*h of the box around all evaluated predicted points.
    """
    with paused_gc():
        if isinstance(results, (str, os.PathLike)):
            source = str(results)
            results = read_json(results, "results")
        else:
            source = "results"
        if not isinstance(results, list):
            raise EvaluationError(f"{source}: top level: expected a list of result objects, "
                                  f"got {type(results).__name__}")
        detections = _results(results, source, gt, num_joints, joint_index)
        del results  # a parsed file is freed while the collector is paused
    return detections


def _results(results: list, source: str, gt: GroundTruth, num_joints: int, joint_index: Sequence[int]) -> Detections:
    first_box = results[0].get("bbox") if results and isinstance(results[0], dict) else None
    use_bbox = first_box is not None and not (isinstance(first_box, (list, tuple, np.ndarray)) and len(first_box) == 0)
    widths = (num_joints * 3,) if len(joint_index) == num_joints else (num_joints * 3, len(joint_index) * 3)
    expected = " or ".join(f"{w} numbers ({w // 3} joints x 3)" for w in widths)

    raw_ids = _column(results, "image_id", source, "[{i}]", "an image id")
    raw_categories = _column(results, "category_id", source, "[{i}]", "a category id")
    keypoints = _column(results, "keypoints", source, "[{i}]", expected)
    scores = _column(results, "score", source, "[{i}]", "a number")
    boxes = _column(results, "bbox", source, "[{i}]", "4 numbers (the first result has a bbox)") if use_bbox else None

    ids = _int_array(raw_ids)
    if ids is None:
        # A string is first looked up as a GT file name (OCHuman: "003799.jpg" is image 1), then
        # read as upstream's "<id>.jpg".
        ids = np.array([gt.file_names.get(raw) if isinstance(raw, str) and raw in gt.file_names
                        else image_id_from(raw, source, f"[{i}].image_id") for i, raw in enumerate(raw_ids)],
                       dtype=np.int64)
    image_index, bad = _ids_in(ids, gt.image_ids)
    if bad is not None:
        raise EvaluationError(f"{source}: [{bad}].image_id: {raw_ids[bad]!r} is not an image of {gt.path}")
    categories = _int_array(raw_categories)
    if categories is None:
        bad = _first(raw_categories, lambda v: not _is_int(v))
    else:
        bad = _ids_in(categories, gt.category_ids)[1]
    if bad is not None:
        raise EvaluationError(f"{source}: [{bad}].category_id: {raw_categories[bad]!r} is not a category of {gt.path}")
    category_index = _ids_in(categories, gt.category_ids)[0]

    if not set(map(type, keypoints)) <= {list}:  # (J, 3) arrays too
        keypoints = [value.reshape(-1) if isinstance(value, np.ndarray) else value for value in keypoints]
    kps = _matrix(keypoints, widths, source, "[{i}].keypoints", expected)
    scores = _real_array(scores, source, "[{i}].score")
    kps = kps.reshape(len(kps), kps.shape[1] // 3, 3)
    _check_coordinates(kps, source, "[{i}].keypoints")
    any_joint_score = (kps[:, :, 2] > 0).any(axis=1)
    if kps.shape[1] == num_joints and list(joint_index) != list(range(num_joints)):
        kps = kps[:, list(joint_index), :]
    x, y = kps[:, :, 0], kps[:, :, 1]
    corners = np.stack([x.min(axis=1, initial=np.inf), y.min(axis=1, initial=np.inf),
                        x.max(axis=1, initial=-np.inf), y.max(axis=1, initial=-np.inf)], axis=1)
    if use_bbox:
        box = _matrix(boxes, (4,), source, "[{i}].bbox", "4 numbers")
        areas = box[:, 2] * box[:, 3]
    else:
        areas = (corners[:, 2] - corners[:, 0]) * (corners[:, 3] - corners[:, 1])
    return Detections(kps[:, :, :2], scores, image_index, category_index, areas, corners,
                      any_joint_score, kps[:, :, 2])
