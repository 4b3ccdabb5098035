"""The training engine on a CUDA GPU (marker ``cuda``; skipped with "no CUDA device" elsewhere):
AMP train steps (float16 with gradient scaling, bfloat16) against float32, the feature cache built
and fetched on CUDA, one epoch end to end with ``--device cuda`` (FastPose SPPE, ``--amp``), and a
1-process NCCL DistributedDataParallel run under torchrun."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from opec.data.datasets import TrainDataset
from opec.engine.feature_sources import frozen_extractor
from opec.engine.features import FeatureCache
from opec.evaluation.map_file import read_map_file
from tests.engine.test_amp import GRAD_COSINE_MIN, GRAD_NORM_RTOL, LOSS_RTOL, first_step
from tests.toy_feature_net import ToyFeatureNet

pytestmark = pytest.mark.cuda
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("amp, dtype, scaled", [("float16", torch.float16, True), ("bf16", torch.bfloat16, False)])
def test_amp_train_step_on_cuda_close_to_float32(tiny_data, tmp_path, make_config, no_tf32, amp, dtype, scaled):
    cfg = make_config(tmp_path, tiny_data)
    loss32, grads32, dtype32, _ = first_step(cfg, tmp_path / "fp32", amp=None, device="cuda")
    loss, grads, seen, was_scaled = first_step(cfg, tmp_path / amp, amp=amp, device="cuda")
    assert dtype32 == torch.float32 and seen == dtype and was_scaled == scaled
    assert loss.dtype == torch.float32 and torch.isfinite(loss) and torch.isfinite(grads).all()
    assert float(loss) == pytest.approx(float(loss32), rel=LOSS_RTOL)
    assert torch.nn.functional.cosine_similarity(grads.double(), grads32.double(), dim=0) > GRAD_COSINE_MIN
    assert float(grads.norm()) == pytest.approx(float(grads32.norm()), rel=GRAD_NORM_RTOL)


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_feature_cache_on_cuda_equals_cpu(tiny_data, tmp_path, storage, no_tf32):
    dataset = TrainDataset([dict(json_file=tiny_data / "train_process_datasets/train_demo.json",
                                 type="crowdpose", img_dir=tiny_data / "images")], crops=False)
    caches = {}
    for device in ("cpu", "cuda"):
        extractor = frozen_extractor(ToyFeatureNet(scale=4).to(device))
        caches[device] = FeatureCache.build(dataset, extractor, device=device, storage=storage,
                                            path=tmp_path / device / "train", fingerprint={}, num_workers=0)
    ids = torch.tensor([3, 0, dataset.num_persons - 1])
    on_gpu = caches["cuda"].fetch(ids, "cuda")
    assert caches["cuda"]._host[0].is_pinned()  # host staging buffers are pinned for async copies
    for got, want in zip(on_gpu, caches["cpu"].fetch(ids, "cpu")):
        assert got.device.type == "cuda" and got.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(got.cpu(), want, rtol=1e-5, atol=1e-5)


def _run(args, work, timeout=600):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [e for e, *_ in read_map_file(work / "mAP.txt")] == [0]
    return done


def test_one_epoch_end_to_end_on_cuda_with_amp(tiny_data, tmp_path, make_config, model_source):
    cfg = make_config(tmp_path, tiny_data, model=model_source("dict(type='FastPose', weights=None)"))
    work = tmp_path / "w"
    _run([sys.executable, "tools/train.py", str(cfg), "--device", "cuda", "--epochs", "1", "--amp",
          "--work-dir", str(work)], work)
    torch.load(work / "best_checkpoint.pth", weights_only=True)
    assert torch.load(work / "last.pth", weights_only=True)["scaler"] is not None  # float16: scaler state saved


def test_one_process_nccl_ddp_run(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    work = tmp_path / "w"
    torchrun = Path(sys.executable).with_name("torchrun")
    done = _run([str(torchrun), "--standalone", "--nproc_per_node=1", "tools/train.py", str(cfg),
                 "--device", "cuda", "--epochs", "1", "--work-dir", str(work)], work)
    assert done.stdout.count("[epoch 0]") == 1
