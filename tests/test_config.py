"""Config loading: the experiment name is the file stem; errors name the file."""
import pytest

from opec.config import ConfigError, load_config


def test_name_is_file_stem_and_numpy_imports_work(tmp_path):
    base = tmp_path / "_base_"
    base.mkdir()
    (base / "model.py").write_text("model = dict(type='OPECNet', hid_dim=128)\n")
    cfg_path = tmp_path / "OPEC_GCN_CrowdPose_Test_FC.py"
    cfg_path.write_text(
        "import numpy as np\n"
        "_base_ = ['./_base_/model.py']\n"
        "model = dict(hid_dim=int(np.int64(64)))\n"
    )
    cfg = load_config(cfg_path)
    assert cfg.name == "OPEC_GCN_CrowdPose_Test_FC"
    assert cfg.model.type == "OPECNet" and cfg.model.hid_dim == 64


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.py")


def test_former_layout_is_named(tmp_path):
    cfg_path = tmp_path / "old.py"
    cfg_path.write_text("sppe = dict(type='FastPose', fine_tune=True)\nmodel = dict(type='OPECNet')\n")
    with pytest.raises(ConfigError, match=r"old\.py: field 'sppe' is from the former config layout.*model\.feature_net"):
        load_config(cfg_path)


def test_syntax_error_names_file(tmp_path):
    cfg_path = tmp_path / "broken.py"
    cfg_path.write_text("seed = 0\nmodel = dict(\n")
    with pytest.raises(ConfigError) as error:
        load_config(cfg_path)
    # the user's file and line, not mmengine's temporary copy
    assert str(error.value) == f"{cfg_path}:2: syntax error: '(' was never closed"
