"""Hand-built CrowdPose-format scenes for the analysis tests (imported by them).

A person is a fixed 14-joint stick figure in a 120 x 300 box (OKS scale 0.53 * w * h = 19080):
left and right joints lie >= 60 px apart and every two joints >= 30 px, so a joint moved onto
another joint's position has ks < 0.15 against everything except that joint.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from opec.keypoints import CROWDPOSE14

BOX_W, BOX_H = 120.0, 300.0
SCALE = 0.53 * BOX_W * BOX_H
# (x, y) inside the box: shoulders, elbows, wrists, hips, knees, ankles (left, right), head, neck.
TEMPLATE = np.array([
    [20, 40], [100, 40], [0, 90], [120, 90], [0, 140], [120, 140],
    [30, 160], [90, 160], [30, 230], [90, 230], [30, 300], [90, 300],
    [60, 0], [60, 30]], dtype=np.float64)
NAMES = CROWDPOSE14.joints


def joint(name: str) -> int:
    return NAMES.index(name)


def person(x: float, y: float = 0.0) -> np.ndarray:
    """(14, 3) joints of a person whose box starts at (x, y); all labelled (v = 2)."""
    return np.concatenate([TEMPLATE + [x, y], np.full((14, 1), 2.0)], axis=1)


def box(x: float, y: float = 0.0) -> list[float]:
    return [x, y, BOX_W, BOX_H]


def distance_for_ks(ks: float, name: str) -> float:
    """Distance from the GT joint at which a joint's keypoint similarity is ``ks``."""
    sigma = CROWDPOSE14.sigmas[joint(name)]
    return math.sqrt(-math.log(ks) * 2 * SCALE * (2 * sigma) ** 2)


def write_gt(path: Path, images: dict[int, float], persons: list[tuple[int, np.ndarray, list[float]]],
             crowd: list[tuple[int, list[float]]] = ()) -> Path:
    """CrowdPose GT: ``images`` {id: crowdIndex}; ``persons`` (image id, (14, 3) joints, box);
    ``crowd`` (image id, box) crowd regions."""
    annotations = [{"id": i + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0, "bbox": list(b),
                    "keypoints": np.asarray(j, dtype=float).reshape(-1).tolist(),
                    "num_keypoints": int(np.count_nonzero(np.asarray(j)[:12, 2] > 0))}
                   for i, (image_id, j, b) in enumerate(persons)]
    annotations += [{"id": len(annotations) + i + 1, "image_id": image_id, "category_id": 1, "iscrowd": 1,
                     "bbox": list(b), "keypoints": [0.0] * 42, "num_keypoints": 0}
                    for i, (image_id, b) in enumerate(crowd)]
    data = {"images": [{"id": i, "file_name": f"{i}.jpg", "width": 1000, "height": 400, "crowdIndex": c}
                       for i, c in images.items()],
            "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
    path.write_text(json.dumps(data))
    return path


def result(image_id: int, joints: np.ndarray, score: float, joint_scores=None) -> dict:
    """A results entry: (14, 2) or (14, 3) joints; joint scores default 0.9."""
    joints = np.asarray(joints, dtype=float)
    scores = np.full(len(joints), 0.9) if joint_scores is None else np.asarray(joint_scores, dtype=float)
    kps = np.concatenate([joints[:, :2], scores[:, None]], axis=1)
    return {"image_id": image_id, "category_id": 1, "keypoints": kps.reshape(-1).tolist(), "score": score}


def write_results(path: Path, results: list[dict]) -> Path:
    path.write_text(json.dumps(results))
    return path
