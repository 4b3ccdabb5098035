"""Parity with the original AlphaPose YOLOv3 code (reference vectors, README section 1).

Every size, count and setting comes from the vector files: another folder with another tiny cfg
(classes, anchors, input size) and other images passes unchanged.
"""
from pathlib import Path

import cv2
import pytest
import torch

from opec.detection import (Darknet, YOLODetector, dynamic_write_results, letterbox, load_darknet_weights,
                            map_to_image, select_persons, write_results)

ATOL_NET = 1e-3   # raw head outputs, prediction
ATOL_ROWS = 1e-4  # rows after NMS
ATOL_PX = 1e-3    # boxes mapped to the image


@pytest.fixture(scope="module")
def vectors(vectors_dir: Path) -> dict:
    return torch.load(vectors_dir / "yolo_vectors.pt", weights_only=True)


@pytest.fixture(scope="module")
def model(vectors_dir: Path, vectors: dict) -> Darknet:
    torch.set_num_threads(min(2, torch.get_num_threads()))
    net = Darknet(vectors_dir / vectors["meta"]["cfg"]).eval()
    load_darknet_weights(net, vectors_dir / vectors["meta"]["weights"])
    return net


def test_weights_header_and_cfg_settings(vectors_dir, vectors, model):
    meta = vectors["meta"]
    net = Darknet(vectors_dir / meta["cfg"])
    header = load_darknet_weights(net, vectors_dir / meta["weights"])
    assert [header.major, header.minor, header.revision] == list(meta["header_major_minor_revision"])
    assert header.seen == meta["seen_uint64"]
    assert model.num_classes == meta["num_classes"]
    assert model.input_size[0] == meta["inp_dim"]
    assert vectors["prediction"].shape[-1] == 5 + meta["num_classes"]


def test_letterbox_exact(vectors_dir, vectors):
    inp_dim = vectors["meta"]["inp_dim"]
    for b, image in enumerate(vectors["images"]):
        bgr = cv2.imread(str(vectors_dir / image["name"]))
        assert torch.equal(torch.from_numpy(bgr), image["orig_bgr_uint8"])
        torch.testing.assert_close(letterbox(bgr, inp_dim)[0], vectors["input"][b], rtol=0, atol=1e-6)


def test_raw_heads_and_prediction(vectors, model):
    with torch.no_grad():
        heads = model.heads(vectors["input"])
        prediction = model(vectors["input"])
    # raw_head_outputs is keyed by the conv feeding each yolo layer
    assert sorted(vectors["raw_head_outputs"], key=int) == [str(i - 1) for i in model.yolo_indices]
    for index, raw in zip(model.yolo_indices, heads):
        torch.testing.assert_close(raw, vectors["raw_head_outputs"][str(index - 1)], rtol=0, atol=ATOL_NET)
    torch.testing.assert_close(prediction, vectors["prediction"], rtol=0, atol=ATOL_NET)


def test_fused_channels_last_model_matches(vectors_dir, vectors):
    """The detector's network (BN folded, channels-last) differs by float rounding only; exp(tw) of the
    huge random boxes magnifies it, hence the README's relative 1e-4 on the decoded prediction."""
    net = Darknet(vectors_dir / vectors["meta"]["cfg"]).eval()
    load_darknet_weights(net, vectors_dir / vectors["meta"]["weights"])
    net = net.fuse_batchnorm().to(memory_format=torch.channels_last)
    x = vectors["input"].contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        heads, prediction = net.heads(x), net(x)
    for index, raw in zip(net.yolo_indices, heads):
        torch.testing.assert_close(raw, vectors["raw_head_outputs"][str(index - 1)], rtol=0, atol=ATOL_NET)
    torch.testing.assert_close(prediction, vectors["prediction"], rtol=1e-4, atol=ATOL_NET)


def test_post_processing_per_image(vectors):
    meta = vectors["meta"]
    confidence, nms, inp_dim = meta["confidence"], meta["nms_thresh"], meta["inp_dim"]
    for b, image in enumerate(vectors["images"]):
        prediction = vectors["prediction"][b:b + 1]
        assert int((prediction[..., 4] > confidence).sum()) == image["n_above_conf"]
        assert select_persons(prediction, confidence)[0].numel() == image["n_above_conf_person_argmax"]
        for key, threshold in [("write_results_nms0.6", nms), ("write_results_nms0.55", nms - 0.05)]:
            rows = write_results(prediction, confidence, threshold)
            assert rows.shape == image[key].shape, key
            torch.testing.assert_close(rows, image[key], rtol=0, atol=ATOL_ROWS)
        rows, rerun = dynamic_write_results(prediction, confidence, nms)
        assert rerun == image["dynamic_used_0.55"]
        assert rows.shape == image["dynamic_write_results"].shape
        torch.testing.assert_close(rows, image["dynamic_write_results"], rtol=0, atol=ATOL_ROWS)
        wh = image["im_dim_wh"].float().expand(rows.shape[0], 2)
        torch.testing.assert_close(map_to_image(rows[:, 1:5], wh, inp_dim), image["boxes_xyxy_orig"],
                                   rtol=0, atol=ATOL_PX)
        torch.testing.assert_close(rows[:, 5:6], image["scores"], rtol=0, atol=ATOL_ROWS)


def test_post_processing_batch_of_two(vectors):
    meta, batch = vectors["meta"], vectors["batch2"]
    prediction = vectors["prediction"]
    rows = write_results(prediction, meta["confidence"], meta["nms_thresh"])
    assert rows.shape == batch["write_results_nms0.6"].shape
    torch.testing.assert_close(rows, batch["write_results_nms0.6"], rtol=0, atol=ATOL_ROWS)
    rows, rerun = dynamic_write_results(prediction, meta["confidence"], meta["nms_thresh"])
    assert rerun == batch["dynamic_used_0.55"]
    assert rows.shape == batch["dynamic_write_results"].shape
    torch.testing.assert_close(rows, batch["dynamic_write_results"], rtol=0, atol=ATOL_ROWS)
    assert torch.equal(rows[:, 0].long(), batch["batch_index"])
    all_wh = torch.stack([image["im_dim_wh"] for image in vectors["images"]]).float()
    mapped = map_to_image(rows[:, 1:5], all_wh[batch["batch_index"]], meta["inp_dim"])
    torch.testing.assert_close(mapped, batch["boxes_xyxy_orig"], rtol=0, atol=ATOL_PX)
    torch.testing.assert_close(rows[:, 5:6], batch["scores"], rtol=0, atol=ATOL_ROWS)


def make_detector(vectors_dir, meta, det_batch):
    return YOLODetector(vectors_dir / meta["cfg"], vectors_dir / meta["weights"], inp_dim=meta["inp_dim"],
                        confidence=meta["confidence"], nms_thresh=meta["nms_thresh"], det_batch=det_batch)


def test_detector_end_to_end_one_image_per_batch(vectors_dir, vectors):
    detector = make_detector(vectors_dir, vectors["meta"], det_batch=1)
    images = [cv2.imread(str(vectors_dir / image["name"])) for image in vectors["images"]]
    for (boxes, scores), image in zip(detector.detect(images), vectors["images"]):
        assert boxes.dtype == torch.float32 and scores.dtype == torch.float32
        assert boxes.shape == image["boxes_xyxy_orig"].shape
        torch.testing.assert_close(boxes, image["boxes_xyxy_orig"], rtol=0, atol=ATOL_PX)
        torch.testing.assert_close(scores, image["scores"][:, 0], rtol=0, atol=ATOL_ROWS)


def test_detector_end_to_end_batch_of_two(vectors_dir, vectors):
    batch = vectors["batch2"]
    detector = make_detector(vectors_dir, vectors["meta"], det_batch=len(vectors["images"]))
    images = [cv2.imread(str(vectors_dir / image["name"])) for image in vectors["images"]]
    results = detector.detect(images)
    assert sum(len(scores) for _, scores in results) == len(batch["batch_index"])
    for b, (boxes, scores) in enumerate(results):
        mine = batch["batch_index"] == b
        torch.testing.assert_close(boxes, batch["boxes_xyxy_orig"][mine], rtol=0, atol=ATOL_PX)
        torch.testing.assert_close(scores, batch["scores"][mine, 0], rtol=0, atol=ATOL_ROWS)
