"""The batched OKS is bit-identical to pycocotools' per-pair ``computeOks``.

Random scenes cover: partly labelled GTs, v=1 joints, keypoint-less GTs (box-distance branch),
more than 20 detections in an image (score truncation), score ties, images without detections
or without GTs, 14 and 17 joints (so rows of fewer and more than 8 summed values).
"""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from opec.evaluation.oks import gt_tables, labelled_boxes, may_match, pair_oks
from opec.keypoints import COCO17, CROWDPOSE14

pycocotools = pytest.importorskip("pycocotools", reason="pycocotools (a dev dependency) is the reference")
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402

IMAGES = 12


def random_scene(rng, num_joints):
    gts, dts = [], []
    for image_id in range(1, IMAGES + 1):
        for _ in range(rng.integers(0, 5)):
            x, y = rng.uniform(0, 400, 2)
            w, h = rng.uniform(5, 200, 2)
            v = rng.choice([0, 1, 2], size=num_joints, p=[0.3, 0.2, 0.5])
            if rng.random() < 0.2:
                v[:] = 0
            kp = np.stack([x + rng.uniform(0, w, num_joints), y + rng.uniform(0, h, num_joints), v], axis=1)
            kp[v == 0, :2] = 0
            gts.append({"image_id": image_id, "category_id": 1, "keypoints": kp.reshape(-1).tolist(),
                        "bbox": [x, y, w, h], "area": float(rng.uniform(0.3, 1.0) * w * h),
                        "num_keypoints": int(np.count_nonzero(v)), "iscrowd": int(rng.random() < 0.1)})
        count = 25 if image_id == 1 else int(rng.integers(0, 6))
        for _ in range(count):
            xy = rng.uniform(-50, 600, (num_joints, 2))
            score = float(rng.choice([0.5, 0.25, rng.random()]))  # frequent ties
            dts.append({"image_id": image_id, "category_id": 1,
                        "keypoints": np.concatenate([xy, rng.random((num_joints, 1))], 1).reshape(-1).tolist(),
                        "score": score})
    return gts, dts


@pytest.mark.parametrize("joint_set", [CROWDPOSE14, COCO17], ids=lambda js: js.name)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pair_oks_matches_pycocotools_bit_for_bit(joint_set, seed):
    rng = np.random.default_rng(seed)
    gts, dts = random_scene(rng, joint_set.num_joints)
    for k, ann in enumerate(gts):
        ann["id"] = k + 1
    sigmas = np.array(joint_set.sigmas)
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": [{"id": i} for i in range(1, IMAGES + 1)], "annotations": gts,
                           "categories": [{"id": 1, "name": "person"}]}
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([dict(d) for d in dts])
        library = COCOeval(coco_gt, coco_dt, "keypoints")
        library.params.kpt_oks_sigmas = sigmas
        library._prepare()

    k = joint_set.num_joints
    gt_keypoints = np.array([g["keypoints"] for g in gts]).reshape(-1, k, 3)
    gt_boxes, gt_areas = np.array([g["bbox"] for g in gts]), np.array([g["area"] for g in gts])
    dt_xy = np.array([d["keypoints"] for d in dts]).reshape(-1, k, 3)[:, :, :2]
    gt_image, dt_image = np.array([g["image_id"] for g in gts]), np.array([d["image_id"] for d in dts])
    dt_score = np.array([d["score"] for d in dts])

    compared = 0
    for image_id in range(1, IMAGES + 1):
        expected = np.asarray(library.computeOks(image_id, 1))
        # pycocotools' rows: the image's detections by descending score (stable), at most 20.
        rows = np.flatnonzero(dt_image == image_id)
        rows = rows[np.argsort(-dt_score[rows], kind="mergesort")][:20]
        cols = np.flatnonzero(gt_image == image_id)
        if expected.size == 0:
            assert len(rows) == 0 or len(cols) == 0
            continue
        dt_index, gt_index = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        ours = pair_oks(gt_tables(gt_keypoints, gt_boxes, gt_areas), dt_xy, gt_index, dt_index, sigmas)
        assert np.array_equal(ours.reshape(len(rows), len(cols)), expected), image_id
        compared += 1
    assert compared >= 5


@pytest.mark.parametrize("seed", [3, 4])
def test_skipped_pairs_cannot_match(seed):
    """``may_match`` only skips pairs whose OKS is below exp(-1) < 0.5, the lowest threshold, and
    does skip far ones. Detections are placed near GTs too, so some pairs are close calls."""
    rng = np.random.default_rng(seed)
    gts, dts = random_scene(rng, 14)
    k = 14
    gt_keypoints = np.array([g["keypoints"] for g in gts]).reshape(-1, k, 3)
    near = gt_keypoints[rng.integers(0, len(gts), 200), :, :2] + rng.normal(0, 15, (200, k, 2))
    dt_xy = np.concatenate([np.array([d["keypoints"] for d in dts]).reshape(-1, k, 3)[:, :, :2], near])
    gt_index, dt_index = np.meshgrid(np.arange(len(gts)), np.arange(len(dt_xy)), indexing="ij")
    gt_index, dt_index = gt_index.reshape(-1), dt_index.reshape(-1)
    areas, sigmas = np.array([g["area"] for g in gts]), np.array(CROWDPOSE14.sigmas)
    oks = pair_oks(gt_tables(gt_keypoints, np.array([g["bbox"] for g in gts]), areas), dt_xy, gt_index, dt_index,
                   sigmas)
    boxes = np.concatenate([dt_xy.min(axis=1), dt_xy.max(axis=1)], axis=1)
    keep = may_match(labelled_boxes(gt_keypoints), areas, boxes, gt_index, dt_index, sigmas)
    assert np.all(oks[~keep] < np.exp(-1))
    assert 0.2 < np.mean(~keep) < 1 and np.count_nonzero(oks[keep] >= 0.5) > 20
