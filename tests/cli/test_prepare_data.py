"""tools/prepare_data.py on the fixture GT with results made from perturbed GT; the outputs must load
with the training/test readers of opec.data."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from opec.cli import prepare_data as prepare_data_cli
from opec.data.annotations import read_predictions, read_train_json
from opec.datasets import dataset_spec
from opec.keypoints import TO_OPEC12
from tests.apis import weight_files

REPO_ROOT = Path(__file__).resolve().parents[2]
main = prepare_data_cli.main
DATASETS = {  # fixture folder -> (GT file, joint set)
    "crowdpose": ("test_crowdpose.json", "crowdpose"),
    "coco": ("test_coco.json", "coco"),
    "ochuman": ("test_ochuman.json", "coco"),
}


def _perturbed_results(gt: dict, rng, with_bbox: bool, string_ids: bool):
    """One results entry per GT person with a labelled body joint (joints moved by <= 1 px,
    unlabelled joints put at the box centre with score 0.1), plus one far-away distractor per image."""
    names = {img["id"]: img["file_name"] for img in gt["images"]}
    entries, sources = [], []
    for ann in gt["annotations"]:
        kp = np.array(ann["keypoints"], dtype=np.float64).reshape(-1, 3)
        x, y, w, h = ann["bbox"]
        labelled = kp[:, 2] > 0
        det = kp.copy()
        det[labelled, :2] += rng.uniform(-1, 1, size=(labelled.sum(), 2))
        det[~labelled, :2] = (x + w / 2, y + h / 2)
        det[:, 2] = np.where(labelled, 0.9, 0.1)
        entry = dict(image_id=names[ann["image_id"]] if string_ids else ann["image_id"],
                     category_id=1, keypoints=det.reshape(-1).round(3).tolist(),
                     score=float(rng.uniform(0.5, 1.0)))
        if with_bbox:
            entry["bbox"] = [x - 5, y - 5, x + w + 5, y + h + 5]
        entries.append(entry)
        sources.append(ann)
    for image_id in names:
        far = np.tile([5000.0, 5000.0, 0.9], (len(gt["annotations"][0]["keypoints"]) // 3, 1))
        entries.append(dict(image_id=image_id, category_id=1, keypoints=far.reshape(-1).tolist(),
                            score=0.99, bbox=[4990, 4990, 5010, 5010]))
    return entries, sources


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_pairs_and_predictions_load_with_training_readers(dataset, fixtures_dir, tmp_path):
    gt_file, joint_set = DATASETS[dataset]
    gt_path = fixtures_dir / dataset / gt_file
    gt = json.loads(gt_path.read_text())
    rng = np.random.default_rng(0)
    entries, sources = _perturbed_results(gt, rng, with_bbox=dataset != "coco",
                                          string_ids=dataset == "crowdpose")
    results = tmp_path / "results.json"
    results.write_text(json.dumps(entries))

    assert main(["--gt", str(gt_path), "--results", str(results), "--out-dir", str(tmp_path / "out"),
                 "--name", dataset]) == 0

    images = read_train_json(tmp_path / "out" / f"train_{dataset}.json", "crowdpose",
                             fixtures_dir / dataset)
    body = list(TO_OPEC12[joint_set])
    expected = [a for a in sources if (np.array(a["keypoints"]).reshape(-1, 3)[body, 2] > 0).any()]
    assert sum(len(im.gts) for im in images) == len(expected)
    assert all(im.image_path.is_file() for im in images)
    # Every pair is the GT person its detection was made from (the distractors never match).
    by_gt = {tuple(np.array(a["keypoints"], dtype=np.float32).reshape(-1, 3)[body].ravel()): a
             for a in expected}
    for im in images:
        for gts, dts, box in zip(im.gts, im.dts, im.boxes):
            ann = by_gt[tuple(gts.ravel())]
            src = entries[sources.index(ann)]
            assert np.allclose(dts, np.array(src["keypoints"]).reshape(-1, 3)[body])
            if "bbox" in src:
                assert np.allclose(box, src["bbox"])
            else:  # AlphaPose-enlarged box around the joints: contains every confident joint
                confident = dts[dts[:, 2] >= 0.05, :2]
                assert (confident >= box[:2] - 1e-3).all() and (confident <= box[2:] + 1e-3).all()

    predictions = read_predictions(tmp_path / "out" / f"test_{dataset}.json")
    assert len(predictions) == len(entries)
    file_names = {img["file_name"] for img in gt["images"]}
    assert {dataset_spec("crowdpose").image_file_name(p["image_id"]) for p in predictions} == file_names
    best = read_predictions(tmp_path / "out" / f"best_match_{dataset}.json")
    assert best == predictions


def test_image_list_restricts_gt_and_config_sets_rule(fixtures_dir, tmp_path, capsys):
    gt_path = fixtures_dir / "crowdpose" / "test_crowdpose.json"
    gt = json.loads(gt_path.read_text())
    entries, _ = _perturbed_results(gt, np.random.default_rng(1), True, True)
    (tmp_path / "results.json").write_text(json.dumps(entries))
    keep = gt["images"][0]
    (tmp_path / "list.txt").write_text(keep["file_name"] + "\n\n")
    args = ["--gt", str(gt_path), "--results", str(tmp_path / "results.json"),
            "--image-list", str(tmp_path / "list.txt"), "--gt-out", str(tmp_path / "sub_gt.json")]
    assert main(args + ["--out-dir", str(tmp_path / "a")]) == 0
    sub = json.loads((tmp_path / "sub_gt.json").read_text())
    assert [img["id"] for img in sub["images"]] == [keep["id"]]
    assert {a["image_id"] for a in sub["annotations"]} == {keep["id"]}
    assert sub["categories"] == gt["categories"]
    pairs = json.loads((tmp_path / "a" / "train_test_crowdpose.json").read_text())
    assert [p["img_name"] for p in pairs] == [keep["file_name"]]

    # An OKS threshold above 1 from the config admits no pair (an error: nothing to train on, no
    # output); the CLI flag overrides the config.
    cfg = tmp_path / "rule.py"
    cfg.write_text("data_preparation = dict(oks_threshold=1.01, min_gt_joints=1)\n")
    assert main(args + ["--out-dir", str(tmp_path / "b"), "--config", str(cfg)]) == 2
    assert "oks_threshold=1.01" in capsys.readouterr().err and not (tmp_path / "b").exists()
    assert main(args + ["--out-dir", str(tmp_path / "c"), "--config", str(cfg),
                        "--oks-threshold", "0.5"]) == 0
    assert json.loads((tmp_path / "c" / "train_test_crowdpose.json").read_text()) == pairs


def _run_cli(*args):
    return subprocess.run([sys.executable, str(REPO_ROOT / "tools" / "prepare_data.py"), *args],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)


def test_gt_without_keypoints_is_a_one_line_error(fixtures_dir, tmp_path):
    gt = json.loads((fixtures_dir / "crowdpose" / "test_crowdpose.json").read_text())
    for ann in gt["annotations"]:
        del ann["keypoints"]
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "results.json").write_text("[]")
    out = tmp_path / "out"
    proc = _run_cli("--gt", str(tmp_path / "gt.json"), "--results", str(tmp_path / "results.json"),
                    "--out-dir", str(out))
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and "keypoints" in proc.stderr and "gt.json" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("problem", ["unknown image", "wrong length", "not json", "text joint",
                                     "flat box"])
def test_bad_results_file_leaves_no_output(problem, fixtures_dir, tmp_path, capsys):
    gt_path = fixtures_dir / "crowdpose" / "test_crowdpose.json"
    entry = dict(image_id="103319.jpg", category_id=1, keypoints=[0.0] * 42, score=1.0)
    if problem == "unknown image":
        entry["image_id"] = "999.jpg"
    elif problem == "wrong length":
        entry["keypoints"] = [0.0] * 40
    elif problem == "text joint":
        entry["keypoints"][4] = "x"
    elif problem == "flat box":
        entry["bbox"] = [10, 10, 10, 50]
    text = "[{" if problem == "not json" else json.dumps([entry])
    (tmp_path / "results.json").write_text(text)
    out = tmp_path / "out"
    assert main(["--gt", str(gt_path), "--results", str(tmp_path / "results.json"),
                 "--out-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "results.json" in err
    assert not out.exists()


def test_initial_poses_from_the_detector_and_sppe(fixtures_dir, tmp_path):
    """detections_from_pipeline: a tiny detector (one box per image) and a designed SPPE; each
    detection's crop box is the AlphaPose-enlarged detector box and its joints COCO 5..16."""
    from opec.datasets.training_pairs import MatchingRule
    from opec.apis.pipeline import TopDownPipeline
    from opec.datasets.preparation import build_training_pairs, detections_from_pipeline
    from opec.data.crop import enlarge_boxes
    from opec.detection import YOLODetector

    cfg, weights = weight_files.write_tiny_yolo(tmp_path)
    detector = YOLODetector(cfg, weights, inp_dim=weight_files.TINY_INP_DIM)
    pipeline = TopDownPipeline(detector, weight_files.DesignedSPPE(), None)
    gt = prepare_data_cli.load_keypoint_gt(fixtures_dir / "ochuman" / "test_ochuman.json")
    detections = detections_from_pipeline(pipeline, gt, fixtures_dir / "ochuman")
    assert sorted(detections) == sorted(gt.images)
    for image_id, det in detections.items():
        img = gt.images[image_id]
        image = cv2.imread(str(fixtures_dir / "ochuman" / img["file_name"]))
        boxes, _ = detector.detect([image])[0]
        pt1, pt2 = enlarge_boxes(boxes, img["width"], img["height"])
        assert np.allclose(det.crop_boxes, torch.cat([pt1, pt2], 1).numpy())
        assert np.allclose(det.joints12[..., 2], np.array(weight_files.SCORES[5:]))
        assert np.array_equal(det.joints12, pipeline.estimate_initial(image)[0]["keypoints"][None, 5:])
    # Designed poses are far from any GT person: nothing passes the OKS threshold.
    pairs, counts = build_training_pairs(gt, detections, MatchingRule())
    assert pairs == [] and counts["matchable"] == len(gt.raw["annotations"])

    missing = tmp_path / "no_images"
    missing.mkdir()
    with pytest.raises(prepare_data_cli.DataPrepError, match="cannot read image"):
        detections_from_pipeline(pipeline, gt, missing)


@pytest.mark.slow
def test_cli_with_images_runs_detector_and_fastpose(fixtures_dir, tmp_path):
    cfg, weights = weight_files.write_tiny_yolo(tmp_path)
    sppe = weight_files.write_sppe(tmp_path / "duc_se.pth")
    out = tmp_path / "out"
    assert main(["--gt", str(fixtures_dir / "crowdpose" / "test_crowdpose.json"),
                 "--images", str(fixtures_dir / "crowdpose"), "--yolo-cfg", str(cfg),
                 "--yolo-weights", str(weights), "--inp-dim", "64", "--sppe-weights", str(sppe),
                 "--out-dir", str(out), "--name", "cp", "--oks-threshold", "0"]) == 0  # designed poses: far from the GT
    predictions = read_predictions(out / "test_cp.json")
    assert sorted(p["image_id"] for p in predictions) == ["103319.jpg", "106848.jpg"]
    assert all(np.allclose(np.reshape(p["keypoints"], (12, 3))[:, 2], weight_files.SCORES[5:], atol=1e-6)
               for p in predictions)
