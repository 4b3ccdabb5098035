"""Datasets and collate: box normalisation (opec_spec §6 step 4), person numbering, crops."""
import json

import cv2
import numpy as np
import pytest
import torch

from opec.data.annotations import DataError
from opec.data.datasets import TestDataset, TrainDataset, collate_persons


def make_files(tmp_path):
    cv2.imwrite(str(tmp_path / "1.jpg"), np.full((60, 80, 3), 100, np.uint8))
    cv2.imwrite(str(tmp_path / "2.jpg"), np.full((60, 80, 3), 150, np.uint8))
    gt = [[10.0 + j, 20.0, 2] for j in range(12)]
    dt = [[30.0, 45.0, 0.5] for _ in range(12)]
    persons = lambda n: [{"score": 1.0, "yolo_bbox": [10, 20, 50, 70], "gt": gt, "dt": dt}] * n  # noqa: E731
    (tmp_path / "train.json").write_text(json.dumps([{"img_name": "1.jpg", "pair": persons(2)},
                                                     {"img_name": "2.jpg", "pair": persons(3)}]))
    pred = {"image_id": "2.jpg", "category_id": 1, "score": 0.7, "bbox": [10, 20, 50, 70],
            "keypoints": [v for _ in range(12) for v in (30.0, 45.0, 0.1)]}
    (tmp_path / "pred.json").write_text(json.dumps([pred, pred]))
    return [dict(json_file=tmp_path / "train.json", type="crowdpose", img_dir=tmp_path)]


def test_train_items_are_box_normalised_and_collated(tmp_path):
    ds = TrainDataset(make_files(tmp_path), crops=False)
    assert len(ds) == 2 and ds.num_persons == 5
    item = ds[1]
    assert item["person_ids"].tolist() == [2, 3, 4]
    # box (10,20)-(50,70): w 40, h 50; dt (30,45) -> (2*(20/40-0.5), 2*(25/50-0.5)) = (0, 0)
    np.testing.assert_allclose(item["joints"][0, 0], [0.0, 0.0, 0.5], atol=1e-7)
    # gt joint 2 at (12, 20) -> x̂ = 2*(2/40-0.5) = -0.9, ŷ = -1; visibility kept
    np.testing.assert_allclose(item["target"][0, 2], [-0.9, -1.0, 2.0], atol=1e-6)
    batch = collate_persons([ds[0], ds[1]])
    assert batch["joints"].shape == (5, 12, 3) and batch["target"].dtype == torch.float32
    assert batch["person_ids"].tolist() == [0, 1, 2, 3, 4] and "inps" not in batch


def test_crops_are_loaded_on_request(tmp_path):
    ds = TrainDataset(make_files(tmp_path), crops=True)
    batch = collate_persons([ds[0]])
    assert batch["inps"].shape == (2, 3, 320, 256)
    test = TestDataset(tmp_path / "pred.json", tmp_path, crops=True)
    assert test[1]["inps"].shape == (1, 3, 320, 256) and test.num_persons == 2
    np.testing.assert_allclose(test[0]["joints"][0, :, :2], 0.0, atol=1e-7)


def test_missing_images_fail_at_construction(tmp_path):
    annotations = make_files(tmp_path)
    (tmp_path / "2.jpg").unlink()
    with pytest.raises(DataError, match=r"1 image file\(s\) not found: .*2\.jpg"):
        TrainDataset(annotations)
    with pytest.raises(DataError, match=r"test data .*pred\.json.*2\.jpg"):
        TestDataset(tmp_path / "pred.json", tmp_path)


def test_unreadable_image_names_its_path_when_loaded(tmp_path):
    annotations = make_files(tmp_path)
    (tmp_path / "1.jpg").write_bytes(b"garbage")
    ds = TrainDataset(annotations, crops=True)
    with pytest.raises(DataError, match=r"1\.jpg: cannot read"):
        ds[0]
