"""Readers of the processed annotations: valid files, COCO name padding, black lists, and every
bad-input case named by file, index and field."""
import json

import cv2
import numpy as np
import pytest

from opec.data.annotations import (
    DataError, check_images_exist, read_image, read_predictions, read_train_json,
)


def pair(score=0.9, box=(10, 20, 50, 120), shift=0.0):
    gt = [[12 + j + shift, 30 + 7 * j, 2] for j in range(12)]
    dt = [[13 + j, 31 + 7 * j, 0.1 * (j % 10)] for j in range(12)]
    return {"score": score, "yolo_bbox": list(box), "gt": gt, "dt": dt}


def write(tmp_path, obj, name="train.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj))
    return path


def test_reads_images_and_persons(tmp_path):
    path = write(tmp_path, [{"img_name": "1.jpg", "pair": [pair(), pair(shift=1)]},
                            {"img_name": "2.jpg", "pair": [pair()]}])
    images = read_train_json(path, "crowdpose", tmp_path / "imgs")
    assert [im.image_path.name for im in images] == ["1.jpg", "2.jpg"]
    assert images[0].boxes.shape == (2, 4) and images[0].gts.shape == (2, 12, 3)
    assert images[0].dts.dtype == np.float64 and images[0].gts.dtype == np.float32
    assert images[0].gts[1, 3, 0] == 12 + 3 + 1


def test_coco_names_are_zero_padded_to_16():
    from opec.datasets import dataset_spec

    assert dataset_spec("coco").train_image_name("1414.jpg") == "000000001414.jpg"
    assert dataset_spec("crowdpose").train_image_name("100000.jpg") == "100000.jpg"


def test_black_list_skips_by_position(tmp_path):
    entries = [{"img_name": f"{i}.jpg", "pair": [pair()]} for i in range(5)]
    images = read_train_json(write(tmp_path, entries), "coco", tmp_path, black_list=[1, 3])
    assert [im.image_path.name for im in images] == ["0.jpg".rjust(16, "0"), "2.jpg".rjust(16, "0"),
                                                     "4.jpg".rjust(16, "0")]


@pytest.mark.parametrize("entry, field", [
    ({"pair": [pair()]}, r"\.img_name"),
    ({"img_name": "a.jpg", "pair": []}, r"\.pair: expected a non-empty"),
    ({"img_name": "a.jpg", "pair": [{**pair(), "gt": [[1, 2, 3]] * 11}]}, r"\.pair\[0\]\.gt: expected 12x3"),
    ({"img_name": "a.jpg", "pair": [{**pair(), "dt": [[1, 2, float("nan")]] * 12}]}, r"\.pair\[0\]\.dt"),
    ({"img_name": "a.jpg", "pair": [{**pair(), "yolo_bbox": [5, 5, 4, 9]}]}, r"\.pair\[0\]\.yolo_bbox: expected a corner"),
    ({"img_name": "a.jpg", "pair": [{**pair(), "yolo_bbox": [1, 2, 3]}]}, r"\.pair\[0\]\.yolo_bbox: expected 4"),
    ({"img_name": "a.jpg", "pair": [{k: v for k, v in pair().items() if k != "score"}]}, r"\.pair\[0\]\.score: missing"),
    ({"img_name": "a.jpg", "pair": [{**pair(), "score": "high"}]}, r"\.pair\[0\]\.score: expected a finite number"),
])
def test_malformed_training_entry_names_file_index_and_field(tmp_path, entry, field):
    path = write(tmp_path, [{"img_name": "ok.jpg", "pair": [pair()]}, entry])
    with pytest.raises(DataError, match=r"train\.json\[1\]" + field):
        read_train_json(path, "crowdpose", tmp_path)


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    ("{not json", "invalid JSON at line 1"),
    ('{"a": 1}', "expected a JSON list"),
])
def test_bad_training_file(tmp_path, content, message):
    path = tmp_path / "train.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_train_json(path, "crowdpose", tmp_path)


def test_unknown_type(tmp_path):
    # the original's spelling is not a dataset name here (one spelling per dataset)
    with pytest.raises(DataError, match=r"train.json: type: unknown dataset 'crowd_pose'; expected one of \['coco', 'crowdpose'"):
        read_train_json(write(tmp_path, []), "crowd_pose", tmp_path)


def prediction(**kw):
    entry = {"image_id": "5.jpg", "category_id": 1, "keypoints": [1.0] * 36, "score": 0.8,
             "bbox": [1, 2, 30, 40]}
    entry.update(kw)
    return entry


def test_predictions_valid(tmp_path):
    preds = read_predictions(write(tmp_path, [prediction(), prediction(image_id=7)], "p.json"))
    assert len(preds) == 2


@pytest.mark.parametrize("bad, field", [
    ({"keypoints": [1.0] * 35}, "keypoints: expected 36"),
    ({"bbox": None}, "bbox: expected 4"),
    ({"score": None}, "score: expected a finite number"),
    ({"image_id": None}, "image_id: expected"),
    ({"bbox": [10, 10, 5, 20]}, "bbox: expected a corner-format box"),
])
def test_malformed_prediction(tmp_path, bad, field):
    path = write(tmp_path, [prediction(), prediction(**bad)], "p.json")
    with pytest.raises(DataError, match=r"p\.json\[1\]\." + field):
        read_predictions(path)


def test_missing_images_reported_with_count_and_first_paths(tmp_path):
    (tmp_path / "here.jpg").write_bytes(b"x")
    paths = [tmp_path / "here.jpg"] + [tmp_path / f"gone{i}.jpg" for i in range(7)]
    with pytest.raises(DataError, match=r"training data: 7 image file\(s\) not found: .*gone0\.jpg.*\.\.\.") as err:
        check_images_exist(paths, "training data")
    assert "gone6.jpg" not in str(err.value)  # only the first few are listed
    check_images_exist([tmp_path / "here.jpg"], "ok")


def test_unreadable_image_names_its_path(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"definitely not a jpeg")
    with pytest.raises(DataError, match="broken.jpg: cannot read the image"):
        read_image(bad)
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), np.full((4, 5, 3), 7, np.uint8))
    assert read_image(good).shape == (4, 5, 3)
