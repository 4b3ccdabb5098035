"""The demo generator's data: readable by the readers and the evaluator, hidden joints corrupted
the way the demo promises (low scores on occluded joints, high on visible ones)."""
import json

import numpy as np

from opec.data.annotations import read_predictions, read_train_json
from opec.evaluation import KeypointEvaluator


def test_generated_files_are_consistent(tiny_data):
    images = read_train_json(tiny_data / "train_process_datasets/train_demo.json", "crowdpose",
                             tiny_data / "images")
    assert len(images) == 6 and all(im.image_path.is_file() for im in images)
    gts = np.concatenate([im.gts for im in images])
    dts = np.concatenate([im.dts for im in images])
    occluded, visible = gts[..., 2] == 1, gts[..., 2] == 2
    assert occluded.any() and visible.any()
    assert np.all(dts[..., 2][occluded] < 0.2) and np.all(dts[..., 2][visible] >= 0.2)
    err = np.linalg.norm(dts[..., :2] - gts[..., :2], axis=-1)
    assert np.median(err[occluded]) > 5 * np.median(err[visible])

    test = tiny_data / "test_process_datasets"
    preds = read_predictions(test / "test_compute_map++.json")
    best = read_predictions(test / "pred_test_best_match.json")
    gt = json.loads((test / "crowdpose_test.json").read_text())
    assert len(preds) == len(best) == len(gt["annotations"])
    assert all("crowdIndex" in im for im in gt["images"])
    assert all(len(a["keypoints"]) == 14 * 3 for a in gt["annotations"])
    metrics = KeypointEvaluator(test / "crowdpose_test.json", "crowdpose", protocol="opec12").evaluate(preds)
    assert 0.2 < metrics["AP"] < 0.95  # occlusion errors leave room to improve
