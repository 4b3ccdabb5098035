"""YOLODetector: errors, output types and invariants with a random tiny network."""
import numpy as np
import pytest
import torch

from opec.detection import DEFAULT_CFG, YOLODetector, letterbox


def test_missing_weights_names_path_and_readme(tmp_path):
    path = tmp_path / "weights" / "yolo" / "yolov3-spp.weights"
    with pytest.raises(FileNotFoundError) as info:
        YOLODetector(weights=path)
    message = str(info.value)
    assert str(path) in message and "see weights/README.md" in message and "\n" not in message


def test_default_paths(tmp_path, monkeypatch):
    assert DEFAULT_CFG.name == "yolov3-spp.cfg" and DEFAULT_CFG.is_file()
    monkeypatch.chdir(tmp_path)  # the default weights path is relative to the working directory
    with pytest.raises(FileNotFoundError, match=r"weights/yolo/yolov3-spp\.weights"):
        YOLODetector()


@pytest.mark.parametrize("kwargs, needle", [
    (dict(inp_dim=100), "inp_dim: expected a positive multiple of 32, got 100"),
    (dict(det_batch=0), "det_batch: expected >= 1, got 0"),
])
def test_bad_settings(tiny_cfg, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        YOLODetector(tiny_cfg, weights=None, **kwargs)


def test_bad_image(tiny_cfg):
    detector = YOLODetector(tiny_cfg, weights=None, inp_dim=64)
    with pytest.raises(ValueError, match=r"images\[1\]: expected a BGR uint8 array of shape \(H, W, 3\)"):
        detector.detect([np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10), np.uint8)])


def test_letterbox_geometry():
    image = np.zeros((50, 100, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    x = letterbox(image, 64)  # s = 0.64: 64 x 32 pasted at row 16
    assert x.shape == (1, 3, 64, 64) and x.dtype == torch.float32
    assert torch.all(x[0, :, :16] == 128 / 255) and torch.all(x[0, :, 48:] == 128 / 255)
    assert torch.all(x[0, 2, 16:48] == 1.0) and torch.all(x[0, :2, 16:48] == 0.0)  # RGB order


def test_detect_outputs(tiny_cfg):
    torch.manual_seed(0)
    detector = YOLODetector(tiny_cfg, weights=None, inp_dim=64, det_batch=2)
    with torch.no_grad():  # push objectness above the threshold everywhere (bias of both heads)
        for index in detector.model.yolo_indices:
            detector.model.layers[index - 1].conv.bias.fill_(1.0)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(40, 90), (120, 30), (64, 64)]]
    results = detector.detect(images)
    assert len(results) == 3
    for image, (boxes, scores) in zip(images, results):
        height, width = image.shape[:2]
        assert boxes.dtype == torch.float32 and scores.dtype == torch.float32
        assert boxes.shape == (len(scores), 4) and len(scores) > 0
        assert torch.all(boxes[:, 0::2] >= 0) and torch.all(boxes[:, 0::2] <= width)
        assert torch.all(boxes[:, 1::2] >= 0) and torch.all(boxes[:, 1::2] <= height)
        assert torch.all(scores > 0.05) and torch.all(scores[:-1] >= scores[1:])
    assert detector.detect([]) == []
