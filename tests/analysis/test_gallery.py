"""Person crops of the report's gallery: size, and the before / after / GT colours drawn."""
from __future__ import annotations

import base64

import cv2
import numpy as np
from tests.analysis.analysis_builders import box, person

from opec.analysis.gallery import AFTER_BGR, BEFORE_BGR, CROP_HEIGHT, GT_BGR, person_crop, png_data_uri
from opec.keypoints import CROWDPOSE14


def count(image, bgr):
    return int(np.count_nonzero(np.all(np.abs(image.astype(int) - bgr) < 30, axis=2)))


def test_crop_shows_gt_before_and_after():
    image = np.full((400, 1000, 3), 60, np.uint8)
    gt = person(200, 50)
    crop = person_crop(image, gt, box(200, 50), CROWDPOSE14.skeleton, before=gt[:, :2] + [25, 0], after=None)
    assert crop.shape[0] == CROP_HEIGHT
    assert count(crop, BEFORE_BGR) > 200 and count(crop, GT_BGR) > 100 and count(crop, AFTER_BGR) == 0
    crop = person_crop(image, gt, box(200, 50), CROWDPOSE14.skeleton, before=None, after=gt[:, :2] - [25, 0])
    assert count(crop, AFTER_BGR) > 200 and count(crop, BEFORE_BGR) == 0


def test_unlabelled_gt_joints_are_not_drawn():
    image = np.full((400, 1000, 3), 60, np.uint8)
    gt = person(200, 50)
    gt[:, 2] = 0
    assert count(person_crop(image, gt, box(200, 50), CROWDPOSE14.skeleton), GT_BGR) == 0


def test_png_data_uri_decodes_to_the_image():
    image = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    uri = png_data_uri(image)
    assert uri.startswith("data:image/png;base64,")
    decoded = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(decoded, image)
