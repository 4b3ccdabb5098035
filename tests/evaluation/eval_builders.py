"""Small hand-made keypoint GT / results builders for the evaluation tests (imported by them)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from opec.keypoints import COCO17, CROWDPOSE14


def person(x: float, y: float, w: float, h: float, num_joints: int) -> np.ndarray:
    """(K, 3) joints spread over the box (x, y, w, h), all labelled visible (v=2)."""
    t = np.linspace(0.1, 0.9, num_joints)
    joints = np.stack([x + w * t, y + h * t[::-1], np.full(num_joints, 2.0)], axis=1)
    return joints


def gt_annotation(image_id: int, joints: np.ndarray, bbox, *, iscrowd: int = 0, area=None,
                  num_keypoints=None) -> dict:
    ann = {"image_id": image_id, "category_id": 1, "keypoints": np.asarray(joints, float).reshape(-1).tolist(),
           "bbox": list(map(float, bbox)), "iscrowd": iscrowd,
           "num_keypoints": int(np.count_nonzero(np.asarray(joints)[:, 2] > 0)) if num_keypoints is None
           else num_keypoints}
    if area is not None:
        ann["area"] = float(area)
    return ann


def write_gt(path: Path, dataset: str, images: dict[int, float | None], annotations: list[dict]) -> Path:
    """COCO-format GT; ``images`` maps id -> crowdIndex (None: no crowdIndex field)."""
    joint_set = CROWDPOSE14 if dataset in ("crowdpose", "ocpose") else COCO17
    imgs = [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480}
            | ({} if c is None else {"crowdIndex": c}) for i, c in images.items()]
    anns = [dict(ann, id=k + 1) for k, ann in enumerate(annotations)]
    data = {"images": imgs, "annotations": anns,
            "categories": [{"id": 1, "name": "person", "keypoints": list(joint_set.joints)}]}
    path.write_text(json.dumps(data))
    return path


def result(image_id, joints: np.ndarray, score: float, **extra) -> dict:
    joints = np.asarray(joints, float)
    if joints.shape[1] == 2:
        joints = np.concatenate([joints, np.ones((len(joints), 1))], axis=1)
    return {"image_id": image_id, "category_id": 1, "keypoints": joints.reshape(-1).tolist(), "score": score,
            **extra}


def offset_for_oks(oks: float, sigma: float, scale: float) -> float:
    """Distance d with exp(-d^2 / (2 * scale * (2 sigma)^2)) == oks (one labelled joint)."""
    return math.sqrt(-math.log(oks) * 2.0 * scale * (2.0 * sigma) ** 2)
