"""Tiny synthetic data and configs for the engine tests (generated here; no ../shared needed).

The configs use ``ToyFeatureNet`` (tests/toy_feature_net.py: pooled random projections, scale 4:
taps of 5x4, 10x8, 20x16) instead of FastPose, so a training step costs milliseconds; the real SPPE is tested elsewhere.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from opec.cli.make_demo_data import generate


def load_tool(name: str):
    """The command-line tool ``opec/cli/<name>.py`` (what ``tools/<name>.py`` runs)."""
    return importlib.import_module(f"opec.cli.{name}")


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """6 training images (~20 persons) and 3 test images of the demo generator."""
    out = tmp_path_factory.mktemp("tiny_data")
    generate(out, train_images=6, test_images=3, seed=1)
    return out


def model_source(feature_net: str = "dict(type='ToyFeatureNet', scale=4, seed=0)", point_head: str = "integral",
                 fine_tune: bool = False) -> str:
    """The ``model`` field of a test config, as Python source."""
    return (f"dict(type='TopDownRefiner', feature_net={feature_net}, refiner=dict(type='OPECNet', "
            f"point_head='{point_head}', num_joints=12, hid_dim=128), fine_tune={fine_tune})")


def write_config(folder: Path, data: Path, name: str = "tiny", **extra) -> Path:
    """A complete config file for ``data`` (keys as in configs/); ``extra`` adds/overrides
    top-level keys given as Python source strings."""
    values = {
        "custom_imports": "dict(imports=['tests.toy_feature_net'], allow_failed_imports=False)",
        "model": model_source(),
        "train_data": (f"dict(annotations=[dict(json_file='{data}/train_process_datasets/train_demo.json', "
                       f"type='crowdpose', img_dir='{data}/images')], batch_images=2, num_workers=0)"),
        "test_data": (f"dict(pred_json='{data}/test_process_datasets/test_compute_map++.json', "
                      f"best_json='{data}/test_process_datasets/pred_test_best_match.json', "
                      f"target_json='{data}/test_process_datasets/crowdpose_test.json', "
                      f"img_dir='{data}/images', dataset='crowdpose', batch_size=5, num_workers=0)"),
        "schedule": ("dict(epochs=2, lr=1e-3, clip_grad_norm=1.0, "
                     "lr_schedule=dict(warmup_lr=1e-5, warmup_epochs=1, min_lr=1e-5))"),
        "work_root": f"'{folder / 'checkpoints'}'",
        "seed": "0",
        "amp": "False",
        "feature_cache": "dict(storage='memory', dtype='float32', batch_size=8)",
        "visdom": "None",
        "tensorboard": "False",
        "log_persons": "2",
    }
    values.update(extra)
    path = folder / f"{name}.py"
    path.write_text("".join(f"{k} = {v}\n" for k, v in values.items()))
    return path


@pytest.fixture
def make_config():
    """:func:`write_config` (test modules are not a package, so they get it as a fixture)."""
    return write_config


@pytest.fixture(name="model_source")
def model_source_fixture():
    """:func:`model_source`."""
    return model_source


@pytest.fixture(scope="session")
def tool():
    """:func:`load_tool`."""
    return load_tool
