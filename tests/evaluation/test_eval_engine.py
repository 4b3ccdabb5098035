"""The whole evaluation equals pycocotools' on random scenes, number for number.

The scenes stress the matching and accumulation rules: score ties within and across images,
more than 20 detections in an image, crowd GTs, GTs with num_keypoints 0 or no labelled joint,
duplicate detections, images without detections or without GTs, two categories, and all three
area ranges (coco rules: stored area). The CrowdPose-style subset AP is checked against
pycocotools re-evaluated on the subset's images (the CrowdPose API's method).
"""
from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from tests.evaluation.test_eval_oks import random_scene

from opec.evaluation import KeypointEvaluator
from opec.keypoints import COCO17, CROWDPOSE14

pytest.importorskip("pycocotools", reason="pycocotools (a dev dependency) is the reference")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

TOL = 1e-12


def reference(gt: dict, dts: list, image_ids=None) -> tuple[np.ndarray, np.ndarray]:
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = json.loads(json.dumps(gt))
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes([dict(d) for d in dts]), "keypoints")
        if image_ids is not None:
            evaluator.params.imgIds = image_ids
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator.eval["precision"][..., 0], evaluator.eval["recall"][..., 0]


def mean_valid(values):
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


@pytest.mark.parametrize("seed", range(6))
def test_random_scenes_equal_pycocotools(tmp_path, seed):
    rng = np.random.default_rng(100 + seed)
    gts, dts = random_scene(rng, COCO17.num_joints)
    # Copies of GTs as detections (true positives, some duplicated), scores with ties, a second category.
    for ann in rng.choice(gts, size=len(gts) // 2, replace=False):
        kp = np.array(ann["keypoints"], dtype=float).reshape(-1, 3)
        kp[:, :2] += rng.normal(0, 2, (len(kp), 2))
        for _ in range(1 + int(rng.random() < 0.3)):
            dts.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
                        "score": float(rng.choice([0.5, 0.9, rng.random()]))})
    for ann in gts:
        ann["area"] = float(rng.choice([500.0, 3000.0, 20000.0])) if rng.random() < 0.5 else ann["area"]
        if rng.random() < 0.1:
            ann["num_keypoints"] = 0
        if seed % 2 and rng.random() < 0.3:
            ann["category_id"] = 2
    if seed % 2:
        dts += [dict(d, category_id=2) for d in dts[::3]]
    rng.shuffle(dts)
    for k, ann in enumerate(gts):
        ann["id"] = k + 1
    images = [{"id": i, "crowdIndex": float(rng.choice([0.1, 0.5, 0.9]))} for i in range(1, 13)]
    gt = {"images": images, "annotations": gts, "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "b"}]}
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))

    metrics, per_threshold = KeypointEvaluator(path, "coco").evaluate_detailed(dts)
    precision, recall = reference(gt, dts)
    expected = {"AP": mean_valid(precision[:, :, :, 0]), "AR": mean_valid(recall[:, :, 0]),
                "APm": mean_valid(precision[:, :, :, 1]), "APl": mean_valid(precision[:, :, :, 2]),
                "ARm": mean_valid(recall[:, :, 1]), "ARl": mean_valid(recall[:, :, 2])}
    for t, key in ((0, "AP50"), (5, "AP75"), (6, "AP80"), (8, "AP90")):
        expected[key] = mean_valid(precision[t, :, :, 0])
    expected["AR50"], expected["AR75"] = mean_valid(recall[0, :, 0]), mean_valid(recall[5, :, 0])
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=TOL), key
    for t, value in enumerate(per_threshold.values()):
        assert value == pytest.approx(mean_valid(precision[t, :, :, 0]), abs=TOL)
    assert 0.01 < metrics["AP"] < 0.99  # a scene that exercises both hits and misses

    # CrowdPose-style subset: re-evaluated on its images alone, mean including -1 entries.
    gt["categories"] = gt["categories"][:1]
    gt["annotations"] = [a for a in gt["annotations"] if a["category_id"] == 1]
    dts = [d for d in dts if d["category_id"] == 1]
    for a in gt["annotations"]:
        a["area"] = 0.53 * a["bbox"][2] * a["bbox"][3]
        a["keypoints"] = (np.array(a["keypoints"]).reshape(17, 3)[:14]).reshape(-1).tolist()
    dts = [dict(d, keypoints=d["keypoints"][:42]) for d in dts]
    path.write_text(json.dumps(gt))
    ours = KeypointEvaluator(path, "crowdpose").evaluate(dts)
    crowd = {image["id"]: image["crowdIndex"] for image in images}
    for key, (low, high) in (("AP_easy", (-1, 0.2)), ("AP_medium", (0.2, 0.8)), ("AP_hard", (0.8, 9))):
        subset = [i for i, c in crowd.items() if low <= c < high]
        with contextlib.redirect_stdout(io.StringIO()):
            coco_gt = COCO()
            coco_gt.dataset = json.loads(json.dumps(gt))
            coco_gt.createIndex()
            evaluator = COCOeval(coco_gt, coco_gt.loadRes([dict(d) for d in dts]), "keypoints")
            evaluator.params.kpt_oks_sigmas = np.array(CROWDPOSE14.sigmas)
            evaluator.params.imgIds = subset
            evaluator.evaluate()
            evaluator.accumulate()
        expected = float(np.mean(evaluator.eval["precision"][:, :, :, 0, :])) if subset else -1.0
        assert ours[key] == pytest.approx(expected, abs=TOL), key
