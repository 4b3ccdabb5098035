"""OPEC-Net's test protocol pieces (docs/training.md), as pure functions.

* :func:`replace_low_confidence` -- only joints whose AlphaPose confidence is below 0.2 take the
  refiner's coordinates; every score stays as it was.
* :func:`transplant_best_match` -- each refined person replaces the keypoints of the "best match"
  entry of the same image whose corner-format box IoU with it is the largest, when that IoU > 0.9.
* :func:`append_map_line` / :func:`read_map_file` -- the ``mAP.txt`` log, one
  ``epoch<TAB>AP_without_best_match<TAB>AP_with_best_match`` line per evaluation, appended.
"""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import numpy as np

from opec.evaluation.validation import EvaluationError, image_id_from

# Joints whose initial (SPPE) score is below this take the refined coordinates.
REPLACE_THRESHOLD = 0.2
# A refined person replaces the best-match entry whose box IoU with it is the largest, above this.
BEST_MATCH_IOU = 0.9


def replace_low_confidence(initial: np.ndarray, refined_xy: np.ndarray,
                           threshold: float = REPLACE_THRESHOLD) -> np.ndarray:
    """Joints of ``initial`` with score < ``threshold`` take the refined x, y.

    Args:
        initial: (P, J, 3) image-pixel x, y and the SPPE joint confidence.
        refined_xy: (P, J, 2) refined x, y in image pixels.
    Returns:
        A new (P, J, 3) array: x, y replaced where score < threshold; scores unchanged.
    """
    initial = np.asarray(initial)
    refined_xy = np.asarray(refined_xy)
    if initial.ndim != 3 or initial.shape[-1] != 3 or refined_xy.shape != initial.shape[:-1] + (2,):
        raise ValueError(f"expected initial (P, J, 3) and refined_xy (P, J, 2), got {initial.shape} "
                         f"and {refined_xy.shape}")
    out = initial.astype(np.result_type(initial, refined_xy), copy=True)
    low = out[..., 2] < threshold
    out[..., :2] = np.where(low[..., None], refined_xy, out[..., :2])
    return out


def box_iou_xyxy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of corner-format boxes (x1, y1, x2, y2), no +1: (N, 4) x (M, 4) -> (N, M).

    Boxes that do not overlap (or have a zero union) get 0.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    width = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    height = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.clip(width, 0, None) * np.clip(height, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def _image_key(value):
    """Group key for an image id: 103319 and "103319.jpg" are the same image."""
    try:
        return image_id_from(value, "", "")
    except EvaluationError:
        return value


def _flat(keypoints) -> list[float]:
    """(J, 3) array or flat list -> a new flat list of floats (result-file form)."""
    return np.asarray(keypoints, dtype=np.float64).reshape(-1).tolist()


def transplant_best_match(refined: list[dict], best_match: list[dict],
                          iou_threshold: float = BEST_MATCH_IOU) -> list[dict]:
    """Put refined poses into the best-match result list.

    Args:
        refined: result dicts with ``image_id``, ``bbox`` (x1, y1, x2, y2) and ``keypoints``.
        best_match: result dicts of the same form (upstream's ``pred_test_best_match.json``).
        iou_threshold: a refined person replaces its argmax-IoU entry when that IoU is > this.
    Returns:
        New dicts, one per ``best_match`` entry in its order; matched entries carry the refined
        person's keypoints (a flat list), all others keep theirs. When two refined persons pick the
        same entry, the later one wins (the original writes them in order). Images with no
        best-match entries, or no refined person, are fine. Inputs are not modified.
    """
    out = [{**entry, "keypoints": _flat(entry["keypoints"])} for entry in best_match]
    by_image: dict = defaultdict(list)
    for index, entry in enumerate(best_match):
        by_image[_image_key(entry["image_id"])].append(index)
    refined_by_image: dict = defaultdict(list)
    for person in refined:
        refined_by_image[_image_key(person["image_id"])].append(person)

    for image, persons in refined_by_image.items():
        candidates = by_image.get(image)
        if not candidates:
            continue
        iou = box_iou_xyxy([p["bbox"] for p in persons], [best_match[i]["bbox"] for i in candidates])
        best = iou.argmax(axis=1)
        for person, column, value in zip(persons, best, iou[np.arange(len(persons)), best]):
            if value > iou_threshold:
                out[candidates[column]]["keypoints"] = _flat(person["keypoints"])
    return out


def append_map_line(path: str | os.PathLike, epoch: int, ap_plain: float, ap_best: float) -> None:
    """Append ``epoch<TAB>AP_plain<TAB>AP_best`` (fractions, ``repr`` of the floats) to ``path``.

    Never truncates (a resumed run keeps the earlier lines); a torn last line from an interrupted
    write is closed first. The line is flushed and fsync'ed.
    """
    path = Path(path)
    prefix = ""
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            prefix = "" if handle.read(1) == b"\n" else "\n"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"{prefix}{int(epoch)}\t{float(ap_plain)!r}\t{float(ap_best)!r}\n")
        handle.flush()
        os.fsync(handle.fileno())


def read_map_file(path: str | os.PathLike) -> list[tuple[int, float, float]]:
    """Parse an ``mAP.txt`` into ``[(epoch, ap_plain, ap_best), ...]``; blank lines are skipped.

    Raises:
        EvaluationError: a missing or non-text file, a line that is not ``int<TAB>float<TAB>float``,
        an AP outside [0, 1] (NaN and inf included) or an epoch listed twice.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluationError(f"{path}: file not found (expected an mAP.txt log)") from None
    except UnicodeDecodeError:
        raise EvaluationError(f"{path}: not a text file (expected an mAP.txt log)") from None
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            if len(parts) != 3:
                raise ValueError
            rows.append((int(parts[0]), float(parts[1]), float(parts[2])))
        except ValueError:
            raise EvaluationError(f"{path}: line {number}: expected 'epoch<TAB>AP_plain<TAB>AP_best', "
                                  f"got {line!r}") from None
        epoch, *aps = rows[-1]
        if not all(0.0 <= ap <= 1.0 for ap in aps):  # also rejects NaN
            raise EvaluationError(f"{path}: line {number}: AP values must lie in [0, 1], got {line.strip()!r}")
        if any(row[0] == epoch for row in rows[:-1]):
            raise EvaluationError(f"{path}: line {number}: epoch {epoch} is listed twice")
    return rows
