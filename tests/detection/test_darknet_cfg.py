"""Darknet cfg grammar and the error messages for bad cfgs."""
from pathlib import Path

import pytest

from opec.detection import CfgError, Darknet, parse_cfg


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "net.cfg"
    path.write_text(text)
    return path


def test_grammar_comments_blanks_spaces(tmp_path):
    path = write(tmp_path, "# header comment\n\n[net]\n  height = 96 \nwidth=96\n   \n"
                           "    # indented comment\n; semicolon comment\n"
                           "[convolutional]\nfilters =8\nsize= 3\n\n[yolo]\nanchors = 10,13,  16,30\n")
    cfg = parse_cfg(path)
    assert cfg.input_size == (96, 96)
    assert [b.type for b in cfg.layers] == ["convolutional", "yolo"]
    assert [b.index for b in cfg.layers] == [0, 1]
    assert cfg.layers[0].options == {"filters": "8", "size": "3"}
    assert cfg.layers[0].get_int("filters") == 8
    assert cfg.layers[1].get_ints("anchors") == [10, 13, 16, 30]
    assert cfg.layers[0].get_int("stride", 1) == 1  # default when absent


@pytest.mark.parametrize("text, needle", [
    ("[net]\nheight=64\nnot a key value\n", "net.cfg:3: expected 'key=value'"),
    ("height=64\n[net]\n", "net.cfg:1: option 'height=64' before the first [block]"),
    ("[convolutional]\nfilters=8\n", "the first block must be [net]"),
    ("[net]\nheight=64\n[convolutional\n", "net.cfg:3: expected a block header"),
])
def test_grammar_errors_name_file_and_line(tmp_path, text, needle):
    with pytest.raises(CfgError, match=None) as info:
        parse_cfg(write(tmp_path, text))
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CfgError, match="nope.cfg: Darknet cfg file not found"):
        parse_cfg(tmp_path / "nope.cfg")


NET = "[net]\nheight=64\nwidth=64\nchannels=3\n"
CONV = "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"


@pytest.mark.parametrize("body, needle", [
    ("[convolutional]\nsize=3\n", "[convolutional] (layer 0) field 'filters' is missing"),
    ("[convolutional]\nfilters=four\nsize=3\n", "field 'filters': expected an integer, got 'four'"),
    (CONV + "[route]\nlayers=-2\n", "[route] (layer 1) field 'layers': index -2 points to layer -1"),
    (CONV + "[route]\nlayers=1\n", "field 'layers': index 1 points to layer 1, expected one of 0..0"),
    (CONV + "[yolo]\nmask=0\nanchors=1,2\nclasses=2\n", "the previous layer has 4 channels, expected 1 anchors"),
    (CONV + "[crop]\n", "unsupported layer type [crop] (layer 1)"),
    (CONV.replace("leaky", "mish") + "[yolo]\n", "expected 'leaky' or 'linear', got 'mish'"),
    (CONV + "[maxpool]\nsize=2\nstride=1\n", "a stride-1 max-pool needs an odd size"),
])
def test_model_errors_name_layer_and_field(tmp_path, body, needle):
    with pytest.raises(CfgError) as info:
        Darknet(write(tmp_path, NET + body))
    message = str(info.value)
    assert needle in message and "net.cfg:" in message and "\n" not in message


def test_route_indices_relative_and_absolute(tiny_cfg):
    model = Darknet(tiny_cfg)
    # layer 10: layers=-1,-3,-4 (relative); layer 15: layers=-1, 5 (relative + absolute)
    assert model.layers[10].sources == [9, 7, 6]
    assert model.layers[13].sources == [10]
    assert model.layers[15].sources == [14, 5]
    assert model.layers[4].source == 1
    assert model.yolo_indices == [12, 17]
    assert model.num_classes == 2
    assert model.input_size == (64, 64)
    assert model.layers[12].anchors.tolist() == [[12, 10], [20, 30]]  # mask 1,2 of the cfg anchors
    assert model.layers[17].anchors.tolist() == [[5, 6]]
