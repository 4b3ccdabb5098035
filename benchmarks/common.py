"""What every benchmark shares: the allocator choice (``--system-malloc``) and the stand-in
feature network of the tests.

The benchmarks run as scripts (``python benchmarks/<name>.py``), so Python puts this folder on the
import path and they import this module as ``common``. Importing it also puts the repository root
on the path, so that benchmark configs can select the tests' cheap FastPose stand-in
(:data:`STAND_IN_FEATURE_NET`, registered by ``tests/toy_feature_net.py`` through the config's
``custom_imports``).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opec.runtime import retain_freed_memory

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))
# Config lines selecting the stand-in: taps of FastPose's shapes from pooled random projections.
STAND_IN_IMPORTS = "custom_imports = dict(imports=['tests.toy_feature_net'], allow_failed_imports=False)"
STAND_IN_FEATURE_NET = "dict(type='ToyFeatureNet', scale=1, seed=0)"


def model_config(feature_net: str, point_head: str = "integral") -> str:
    """The ``model = dict(type='TopDownRefiner', ...)`` line of a benchmark config."""
    return (f"model = dict(type='TopDownRefiner', feature_net={feature_net}, refiner=dict(type='OPECNet', "
            f"point_head='{point_head}', num_joints=12, hid_dim=128), fine_tune=False)")


def add_system_malloc_flag(parser: argparse.ArgumentParser) -> None:
    """The ``--system-malloc`` flag: measure with glibc's default instead."""
    parser.add_argument("--system-malloc", action="store_true",
                        help="leave glibc malloc as it is (default: retain_freed_memory(), as the tools do)")


def configure_malloc(system_malloc: bool) -> str:
    """Apply a benchmark's allocator choice; returns the label its report prints."""
    if system_malloc:
        return "glibc default"
    retain_freed_memory()
    return "freed memory retained"


def cpu_name() -> str:
    """The CPU's model name (every benchmark report names the machine it measured)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def demo_data_config(data: Path, model: str, *, batch_images: int, epochs: int, feature_cache: str,
                     amp="False", workers: int = 0) -> str:
    """A training config (Python source) on data made by ``opec-make-demo-data`` under ``data``;
    ``model`` is the ``model = ...`` line (see :func:`model_config`), the others config values as source."""
    return f"""
{model}
train_data = dict(annotations=[dict(json_file='{data}/train_process_datasets/train_demo.json', type='crowdpose',
                  img_dir='{data}/images')], batch_images={batch_images}, num_workers={workers})
test_data = dict(pred_json='{data}/test_process_datasets/test_compute_map++.json',
                 best_json='{data}/test_process_datasets/pred_test_best_match.json',
                 target_json='{data}/test_process_datasets/crowdpose_test.json',
                 img_dir='{data}/images', dataset='crowdpose', batch_size=60, num_workers={workers})
schedule = dict(epochs={epochs}, lr=1e-3, clip_grad_norm=1.0, lr_schedule=dict(warmup_lr=1e-5, warmup_epochs=1, min_lr=1e-5))
seed = 0
amp = {amp}
feature_cache = {feature_cache}
visdom = None
tensorboard = False
log_persons = 2
"""
