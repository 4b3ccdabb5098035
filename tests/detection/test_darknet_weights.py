"""Darknet .weights reader/writer: byte layout, header versions, size checks (files written here)."""
import struct

import numpy as np
import pytest
import torch

from opec.detection import Darknet, expected_file_size, load_darknet_weights, read_header, save_darknet_weights


def write_raw(path, header: bytes, values: np.ndarray) -> None:
    path.write_bytes(header + values.astype("<f4").tobytes())


def test_byte_layout_bn_order_and_conv_weight(tiny_cfg, tiny_num_floats, tmp_path):
    """Hand-made file 0, 1, 2, ...: layer 0 (BN, 4 filters) takes beta, gamma, mean, var, then weights."""
    path = tmp_path / "seq.weights"
    write_raw(path, struct.pack("<3iQ", 0, 2, 0, 7), np.arange(tiny_num_floats, dtype=np.float64) / 8)
    model = Darknet(tiny_cfg)
    header = load_darknet_weights(model, path)
    assert header == (0, 2, 0, 7) and header.size == 20
    conv0, conv2 = model.layers[0], model.layers[2]
    values = torch.arange(tiny_num_floats, dtype=torch.float32) / 8
    assert torch.equal(conv0.bn.bias, values[0:4])
    assert torch.equal(conv0.bn.weight, values[4:8])
    assert torch.equal(conv0.bn.running_mean, values[8:12])
    assert torch.equal(conv0.bn.running_var, values[12:16])
    assert torch.equal(conv0.conv.weight, values[16:124].view(4, 3, 3, 3))  # (out, in, kh, kw), C order
    start = 124 + 320  # layer 2: no BN, so bias (4) then weight (4, 8, 1, 1)
    assert torch.equal(conv2.conv.bias, values[start:start + 4])
    assert torch.equal(conv2.conv.weight.flatten(), values[start + 4:start + 36])
    assert torch.equal(model.layers[16].conv.weight.flatten()[-1], values[-1])  # every value consumed


def test_version_0_1_has_4_byte_seen(tiny_cfg, tiny_num_floats, tmp_path):
    path = tmp_path / "old.weights"
    write_raw(path, struct.pack("<3ii", 0, 1, 0, 123), np.full(tiny_num_floats, 0.5))
    model = Darknet(tiny_cfg)
    header = load_darknet_weights(model, path)
    assert header == (0, 1, 0, 123) and header.size == 16
    assert torch.all(model.layers[0].bn.bias == 0.5) and torch.all(model.layers[16].conv.weight == 0.5)


def test_64_bit_seen_above_2_to_32(tiny_cfg, tiny_num_floats, tmp_path):
    path = tmp_path / "v2.weights"
    write_raw(path, struct.pack("<3iQ", 0, 2, 0, 5_000_000_123), np.zeros(tiny_num_floats))
    assert read_header(path).seen == 5_000_000_123


def test_round_trip(tiny_cfg, tiny_num_floats, tmp_path):
    torch.manual_seed(1)
    source = Darknet(tiny_cfg)
    for tensor in source.state_dict().values():
        if tensor.is_floating_point():
            tensor.copy_(torch.randn_like(tensor))
    for version, seen, header_size in [((0, 2, 0), 2**40 + 3, 20), ((0, 1, 0), 99, 16)]:
        path = tmp_path / f"rt{header_size}.weights"
        save_darknet_weights(source, path, version=version, seen=seen)
        assert path.stat().st_size == header_size + 4 * tiny_num_floats
        target = Darknet(tiny_cfg)
        assert load_darknet_weights(target, path) == (*version, seen)
        for key, value in source.state_dict().items():
            if value.is_floating_point():
                assert torch.equal(target.state_dict()[key], value), key
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    assert expected_file_size(source) == 20 + 4 * tiny_num_floats


@pytest.mark.parametrize("delta", [-4, 4])
def test_size_mismatch_is_rejected(tiny_cfg, tiny_num_floats, tmp_path, delta):
    path = tmp_path / "bad.weights"
    count = tiny_num_floats + delta // 4
    write_raw(path, struct.pack("<3iQ", 0, 2, 0, 0), np.zeros(count))
    with pytest.raises(ValueError) as info:
        load_darknet_weights(Darknet(tiny_cfg), path)
    message = str(info.value)
    expected, actual = 20 + 4 * tiny_num_floats, 20 + 4 * count
    assert str(path) in message and f"{actual} bytes" in message and f"expected {expected} bytes" in message
    assert "\n" not in message


def test_missing_file_names_path_and_readme(tiny_cfg, tmp_path):
    path = tmp_path / "weights" / "yolov3-spp.weights"
    with pytest.raises(FileNotFoundError) as info:
        load_darknet_weights(Darknet(tiny_cfg), path)
    assert str(path) in str(info.value) and "see weights/README.md" in str(info.value)


def test_loading_after_fusion_is_refused(tiny_cfg, tiny_num_floats, tmp_path):
    path = tmp_path / "w.weights"
    write_raw(path, struct.pack("<3iQ", 0, 2, 0, 0), np.zeros(tiny_num_floats))
    model = Darknet(tiny_cfg).eval().fuse_batchnorm()
    with pytest.raises(RuntimeError, match="before fuse_batchnorm"):
        load_darknet_weights(model, path)


def test_truncated_header(tiny_cfg, tmp_path):
    path = tmp_path / "short.weights"
    path.write_bytes(b"\x00" * 8)
    with pytest.raises(ValueError, match="too short for a Darknet weights header"):
        load_darknet_weights(Darknet(tiny_cfg), path)
