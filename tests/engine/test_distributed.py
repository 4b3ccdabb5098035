"""Two CPU processes under torchrun (gloo): DistributedSampler shards, evaluation gathered once,
only rank 0 writes; the result files are complete and hold every epoch once."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from opec.evaluation.map_file import read_map_file

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_two_process_gloo_run(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    work = tmp_path / "w"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    torchrun = Path(sys.executable).with_name("torchrun")
    done = subprocess.run([str(torchrun), "--standalone", "--nproc_per_node=2", "tools/train.py", str(cfg),
                           "--work-dir", str(work), "--device", "cpu"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [e for e, *_ in read_map_file(work / "mAP.txt")] == [0, 1]
    assert done.stdout.count("[epoch 1]") == 1  # only rank 0 reports
    for name in ("0.pth", "1.pth", "best_checkpoint.pth", "last.pth"):
        torch.load(work / name, weights_only=True)
    train_rows = [line for line in (work / "log.jsonl").read_text().splitlines() if '"group": "train"' in line]
    assert len(train_rows) == 2 * 2  # 6 images / (2 processes x 2 images) = 2 steps per epoch, rank 0 logs
