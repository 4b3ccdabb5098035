"""SPPE crops (AlphaPose crop_from_dets / cropBox, OPEC crop_large) and the box-normalised frame.

Reference outputs come from the vectors (``sppe_vectors.pt``); the fast implementation is also
checked bit for bit against a literal per-box version of the original (full-image copy, zeroing by
slices, warp) written here from the spec.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
import torch

from opec.data import crop
from opec.data.crop import (
    INPUT_HEIGHT, INPUT_WIDTH, RGB_MEAN, alphapose_crop, crop_large, denormalize_from_box, enlarge_boxes,
    normalize_to_box,
)

CROP_ATOL = 1e-5  # README tolerances
BOX_ATOL = 1e-4


def _literal_crop(image_bgr, pt1, pt2):
    """The original's per-box cropBox on a full copy of the mean-subtracted image (spec 2.1)."""
    image = torch.from_numpy(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float()
    if image.max() > 1:
        image /= 255
    for channel, mean in enumerate(RGB_MEAN):
        image[channel].add_(-mean)
    crops = []
    for (ax, ay), (bx, by) in zip(torch.as_tensor(pt1).tolist(), torch.as_tensor(pt2).tolist()):
        img = image.clone()
        ul = torch.tensor([ax, ay], dtype=torch.float32).int()
        br = (torch.tensor([bx, by], dtype=torch.float32) - 1).int()
        ulx, uly, brx, bry = ul[0].item(), ul[1].item(), br[0].item(), br[1].item()
        len_h = max(bry - uly, (brx - ulx) * INPUT_HEIGHT / INPUT_WIDTH)
        len_w = len_h * INPUT_WIDTH / INPUT_HEIGHT
        pad_h, pad_w = (len_h - (bry - uly)) // 2, (len_w - (brx - ulx)) // 2
        if uly > 0:
            img[:, :uly] = 0
        if ulx > 0:
            img[:, :, :ulx] = 0
        if bry < img.shape[1] - 1:
            img[:, bry + 1:] = 0
        if brx < img.shape[2] - 1:
            img[:, :, brx + 1:] = 0
        src = np.array([[ulx - pad_w, uly - pad_h], [brx + pad_w, bry + pad_h], [0, 0]], np.float32)
        dst = np.array([[0, 0], [INPUT_WIDTH - 1, INPUT_HEIGHT - 1], [0, 0]], np.float32)
        for points in (src, dst):
            d = points[0] - points[1]
            points[2] = points[1] + np.array([-d[1], d[0]], np.float32)
        matrix = cv2.getAffineTransform(src, dst)
        warped = cv2.warpAffine(img.permute(1, 2, 0).numpy(), matrix, (INPUT_WIDTH, INPUT_HEIGHT),
                                flags=cv2.INTER_LINEAR)
        crops.append(torch.from_numpy(warped).permute(2, 0, 1))
    return torch.stack(crops)


@pytest.fixture(scope="module")
def sppe_crops(vectors_dir):
    vectors = torch.load(vectors_dir / "sppe_vectors.pt", weights_only=True)
    images = {name: cv2.imread(str(vectors_dir / entry["image"])) for name, entry in vectors["crops"].items()}
    return vectors, images


def test_alphapose_crop_matches_vectors(sppe_crops):
    vectors, images = sppe_crops
    for name, entry in vectors["crops"].items():
        assert images[name] is not None, entry["image"]
        inps, pt1, pt2 = alphapose_crop(images[name], entry["boxes"])
        assert inps.shape == entry["inps"].shape and inps.dtype == torch.float32
        torch.testing.assert_close(pt1, entry["pt1"], atol=BOX_ATOL, rtol=0)
        torch.testing.assert_close(pt2, entry["pt2"], atol=BOX_ATOL, rtol=0)
        torch.testing.assert_close(inps, entry["inps"], atol=CROP_ATOL, rtol=0, msg=f"image {name}")
        # the fast path is bit-equal to the literal original on this platform
        assert torch.equal(inps, _literal_crop(images[name], pt1, pt2)), name


def test_network_inputs_are_the_listed_crops(sppe_crops):
    vectors, _ = sppe_crops
    for row, (name, index) in enumerate(vectors["meta"]["net_crops"]):
        assert torch.equal(vectors["input"][row], vectors["crops"][name]["inps"][index])
        assert torch.equal(vectors["pt1"][row], vectors["crops"][name]["pt1"][index])


def _random_image(rng, height, width):
    return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("convert_once", [True, False], ids=["image-once", "box-by-box"])
def test_fast_crop_is_bit_equal_to_literal_original(seed, convert_once, monkeypatch):
    # both ways of converting the image (the boxes' bounding rectangle once, or box by box)
    monkeypatch.setattr(crop, "_region_to_convert_once", lambda union, *args: union if convert_once else None)
    rng = np.random.default_rng(seed)
    height, width = rng.integers(60, 200, size=2)
    image = _random_image(rng, height, width)
    # a scratch image larger than this one and full of NaN: a warp reading any pixel that was not
    # converted or zeroed for it would put NaN into the crop
    monkeypatch.setattr(crop._scratch, "image", np.full((height + 7, width + 3, 4), np.nan, np.float32), raising=False)
    x1 = rng.uniform(-20, width - 10, 12)
    y1 = rng.uniform(-20, height - 10, 12)
    boxes = np.stack([x1, y1, x1 + rng.uniform(2, width, 12), y1 + rng.uniform(2, height, 12)], 1)
    inps, pt1, pt2 = alphapose_crop(image, boxes)
    assert torch.equal(inps, _literal_crop(image, pt1, pt2))
    # OPEC's crop: boxes used as they are, partly outside the image included
    inps, pt1, pt2 = crop_large(image, boxes)
    assert torch.equal(pt1, torch.as_tensor(boxes[:, :2], dtype=torch.float32))
    assert torch.equal(pt2, torch.as_tensor(boxes[:, 2:], dtype=torch.float32))
    assert torch.equal(inps, _literal_crop(image, pt1, pt2))


def test_crops_on_threads_match_serial():
    # each thread converts into its own scratch image
    rng = np.random.default_rng(4)
    jobs = [(_random_image(rng, 120 + 10 * k, 90 + 7 * k), rng.uniform(0, 80, (6, 2))) for k in range(6)]
    jobs = [(image, np.concatenate([xy, xy + 40], 1)) for image, xy in jobs]
    serial = [alphapose_crop(image, boxes)[0] for image, boxes in jobs]
    with ThreadPoolExecutor(3) as pool:
        threaded = list(pool.map(lambda job: alphapose_crop(*job)[0], jobs * 3))
    assert all(torch.equal(a, b) for a, b in zip(threaded, serial * 3))


def test_enlargement_by_hand():
    # w = 100, h = 200 -> 15 px / 30 px per side; clamped to [0, W-1] x [0, H-1]
    pt1, pt2 = enlarge_boxes([[50.0, 40.0, 150.0, 240.0], [10.0, 10.0, 630.0, 470.0]], 640, 480)
    torch.testing.assert_close(pt1, torch.tensor([[35.0, 10.0], [0.0, 0.0]]), atol=BOX_ATOL, rtol=0)
    torch.testing.assert_close(pt2, torch.tensor([[165.0, 270.0], [639.0, 479.0]]), atol=BOX_ATOL, rtol=0)


def test_tiny_box_in_the_corner():
    rng = np.random.default_rng(3)
    image = _random_image(rng, 40, 30)
    # 1x1 px box at the top-left, and a degenerate box at the bottom-right corner
    boxes = np.array([[0.5, 0.5, 1.5, 1.5], [29.0, 39.0, 29.0, 39.0]], np.float32)
    inps, pt1, pt2 = alphapose_crop(image, boxes)
    assert ((pt2 - pt1) >= 5).all()  # at least 5 px on each side
    torch.testing.assert_close(pt1[0], torch.tensor([0.35, 0.35]), atol=BOX_ATOL, rtol=0)
    assert torch.allclose(pt2[1], pt1[1] + 5)  # the minimum size wins over the clamp at W-1, H-1
    assert torch.isfinite(inps).all()
    assert torch.equal(inps, _literal_crop(image, pt1, pt2))


def test_one_pixel_boxes():
    # ul == br: the three source points coincide, the affine is all zeros and every crop pixel
    # samples image pixel (0, 0) -- its value when the box is that pixel, zero otherwise
    rng = np.random.default_rng(6)
    image = _random_image(rng, 50, 60)
    boxes = np.array([[0, 0, 1, 1], [10.5, 10.2, 11.7, 11.9], [59, 49, 60, 50], [10, 10, 10, 30]], np.float32)
    inps, pt1, pt2 = crop_large(image, boxes)
    assert torch.equal(inps, _literal_crop(image, pt1, pt2))
    assert (inps[0] != 0).all() and (inps[1:] == 0).all()


def test_box_outside_the_image_gives_zeros():
    # Differs from the original on purpose: for a box ending above/left of the image (br < -1) its
    # zeroing slice ``img[:, br + 1:]`` takes a negative index and keeps most of the image.
    image = _random_image(np.random.default_rng(7), 50, 60)
    inps, _, _ = crop_large(image, [[-40.0, 5.0, -10.0, 45.0], [5.0, -60.0, 50.0, -3.0]])
    assert (inps == 0).all()


def test_uniform_image_gives_mean_subtracted_value():
    image = np.full((100, 80, 3), (30, 120, 210), np.uint8)  # B, G, R
    inps, _, _ = crop_large(image, [[10.0, 10.0, 70.0, 90.0]])
    expected = torch.tensor([210 / 255 - RGB_MEAN[0], 120 / 255 - RGB_MEAN[1], 30 / 255 - RGB_MEAN[2]])
    centre = inps[0, :, INPUT_HEIGHT // 2, INPUT_WIDTH // 2]
    torch.testing.assert_close(centre, expected, atol=1e-6, rtol=0)
    # ul = (10, 10), br = (69, 89): the 59x79 px box is padded by floor((63.2 - 59) / 2) = 2 px on the
    # left and right to the 256:320 aspect; those source columns lie outside the box and are zeroed
    assert torch.equal(inps[0, :, INPUT_HEIGHT // 2, 0], torch.zeros(3))


def test_dark_image_is_not_rescaled():
    # quirk of im_to_torch: no /255 when the image maximum is <= 1
    image = np.ones((50, 40, 3), np.uint8)
    inps, _, _ = crop_large(image, [[0.0, 0.0, 40.0, 50.0]])
    expected = torch.tensor([1 - m for m in RGB_MEAN])
    torch.testing.assert_close(inps[0, :, INPUT_HEIGHT // 2, INPUT_WIDTH // 2], expected, atol=1e-6, rtol=0)


def test_dark_first_row_does_not_decide_the_scaling():
    # the /255 depends on the maximum of the whole image, not only of the rows that decide quickly
    image = np.ones((50, 40, 3), np.uint8)
    image[30, 20] = (200, 100, 50)
    inps, _, _ = crop_large(image, [[0.0, 0.0, 40.0, 50.0]])
    expected = torch.tensor([1 / 255 - m for m in RGB_MEAN])
    torch.testing.assert_close(inps[0, :, INPUT_HEIGHT // 4, INPUT_WIDTH // 2], expected, atol=1e-6, rtol=0)


def test_empty_and_bad_inputs():
    image = np.zeros((20, 20, 3), np.uint8)
    inps, pt1, pt2 = alphapose_crop(image, np.zeros((0, 4), np.float32))
    assert inps.shape == (0, 3, INPUT_HEIGHT, INPUT_WIDTH) and pt1.shape == (0, 2) and pt2.shape == (0, 2)
    with pytest.raises(ValueError, match="image: expected a BGR uint8"):
        alphapose_crop(image.astype(np.float32), [[0, 0, 5, 5]])
    with pytest.raises(ValueError, match=r"boxes: expected an \(N, 4\)"):
        crop_large(image, [[0, 0, 5]])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_normalize_to_box_by_hand_and_round_trip(backend):
    joints = np.array([[[20.0, 40.0, 0.7], [10.0, 20.0, 2.0], [30.0, 60.0, 0.0]]])
    pt1, pt2 = np.array([[10.0, 20.0]]), np.array([[30.0, 60.0]])
    if backend == "torch":
        joints, pt1, pt2 = (torch.as_tensor(a) for a in (joints, pt1, pt2))
    normed = normalize_to_box(joints, pt1, pt2)
    assert type(normed) is type(joints) and normed.dtype == joints.dtype
    expected = [[[0.0, 0.0, 0.7], [-1.0, -1.0, 2.0], [1.0, 1.0, 0.0]]]
    assert np.allclose(np.asarray(normed), expected)
    assert np.asarray(joints)[0, 0, 0] == 20.0  # input untouched
    back = denormalize_from_box(normed, pt1, pt2)
    assert np.allclose(np.asarray(back), np.asarray(joints))


def test_round_trip_random_float32():
    rng = np.random.default_rng(5)
    joints = rng.uniform(0, 500, (7, 12, 3)).astype(np.float32)
    pt1 = rng.uniform(0, 200, (7, 2)).astype(np.float32)
    pt2 = pt1 + rng.uniform(20, 300, (7, 2)).astype(np.float32)
    back = denormalize_from_box(normalize_to_box(joints, pt1, pt2), pt1, pt2)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, joints, atol=1e-3)
    np.testing.assert_array_equal(back[..., 2], joints[..., 2])
