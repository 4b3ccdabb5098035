"""The packaged yolov3-spp.cfg against the layer layout of the original cfg (yolov3_spp_layout.json)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from opec.detection import (DEFAULT_CFG, Darknet, YOLODetector, expected_file_size, load_darknet_weights,
                            save_darknet_weights, weight_layout)
from opec.detection.darknet import Convolutional, MaxPool, Route, Shortcut, Upsample, YOLOLayer

TYPES = {"convolutional": Convolutional, "shortcut": Shortcut, "route": Route, "upsample": Upsample,
         "maxpool": MaxPool, "yolo": YOLOLayer}


@pytest.fixture(scope="module")
def layout(vectors_dir: Path) -> dict:
    return json.loads((vectors_dir / "yolov3_spp_layout.json").read_text())


def test_layers_shapes_and_weight_offsets(layout):
    with torch.device("meta"):  # shapes only: no 141-GFLOP forward
        model = Darknet(DEFAULT_CFG)
    shapes = {}
    for index, layer in enumerate(model.layers):
        layer.register_forward_hook(lambda m, i, out, index=index: shapes.__setitem__(index, list(out.shape)))
    with torch.device("meta"):
        model(torch.empty(layout["input"]))
    assert len(model.layers) == len(layout["layers"])
    slots = {slot.layer: slot for slot in weight_layout(model)}
    for entry in layout["layers"]:
        index, layer = entry["index"], model.layers[entry["index"]]
        assert isinstance(layer, TYPES[entry["type"]]), index
        if "out_shape" in entry:
            assert shapes[index] == entry["out_shape"], index
        if entry["type"] == "convolutional":
            conv = layer.conv
            assert list(conv.weight.shape) == entry["weight_shape"], index
            assert conv.stride == (entry["stride"],) * 2 and conv.padding == (entry["pad"],) * 2, index
            assert (layer.bn is not None) == entry["batch_normalize"] and layer.leaky == (entry["activation"] == "leaky")
            assert (slots[index].float_offset, slots[index].num_floats) == (entry["float_offset"], entry["num_floats"])
        elif entry["type"] == "route":
            assert layer.sources == [s if s >= 0 else index + s for s in entry["layers"]], index
        elif entry["type"] == "shortcut":
            assert layer.source == index + entry["from"]
        elif entry["type"] == "maxpool":
            assert (layer.size, layer.stride) == (int(entry["size"]), int(entry["stride"]))
        elif entry["type"] == "yolo":
            assert layer.num_classes == entry["classes"] and layer.anchors.shape == (len(entry["mask"]), 2)
    assert sum(slot.num_floats for slot in slots.values()) == layout["total_floats"]
    assert expected_file_size(model) == layout["expected_file_bytes"]


@pytest.fixture(scope="module")
def model() -> Darknet:
    torch.manual_seed(0)
    return Darknet(DEFAULT_CFG).eval()


def test_yolo_anchors(model, layout):
    heads = [entry for entry in layout["layers"] if entry["type"] == "yolo"]
    assert model.yolo_indices == [entry["index"] for entry in heads]
    for entry in heads:
        assert model.layers[entry["index"]].anchors.tolist() == entry["anchors_used"]


def test_small_input_forward(model):
    """The real network at 64 x 64 (1.6 GFLOP): heads at strides 32, 16, 8."""
    assert model.input_size == (608, 608) and model.num_classes == 80
    with torch.no_grad():
        heads = model.heads(torch.rand(1, 3, 64, 64))
    assert [tuple(h.shape) for h in heads] == [(1, 255, 2, 2), (1, 255, 4, 4), (1, 255, 8, 8)]
    prediction = model.decode(heads, (64, 64))
    assert prediction.shape == (1, 3 * (4 + 16 + 64), 85)
    assert torch.isfinite(prediction).all()


@pytest.mark.slow
def test_full_size_weights_file_and_forward(tmp_path, layout):
    """A random 252 MB weights file round-trips and the detector runs at 608 (141 GFLOP)."""
    torch.manual_seed(0)
    source = Darknet(DEFAULT_CFG)
    path = tmp_path / "yolov3-spp.weights"
    save_darknet_weights(source, path, seen=32_013_312)
    assert path.stat().st_size == layout["expected_file_bytes"]
    target = Darknet(DEFAULT_CFG)
    assert load_darknet_weights(target, path).seen == 32_013_312
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value), key
    detector = YOLODetector(weights=path)
    prediction = detector.predict(torch.rand(1, 3, 608, 608))
    assert prediction.shape == (1, 3 * (19 ** 2 + 38 ** 2 + 76 ** 2), 85)
    results = detector.detect([np.zeros((480, 640, 3), np.uint8)])
    assert len(results) == 1 and results[0][0].shape[1] == 4
