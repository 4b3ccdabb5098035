"""The multi-node recipe of docs/training.md, as far as one machine allows: torchrun with the
recipe's rendezvous flags (c10d backend, an endpoint, a run id) but ``--nnodes 1 --nproc-per-node 2``
on localhost, CPU/gloo, the disk feature cache in the (here: local) shared work folder."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from opec.evaluation.map_file import read_map_file

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_recipe_rendezvous_flags_on_one_node(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data, feature_cache="dict(storage='disk', dtype='float16', batch_size=8)")
    work = tmp_path / "shared" / "work"
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [str(torchrun), "--nnodes", "1", "--nproc-per-node", "2", "--rdzv-backend", "c10d",
               "--rdzv-endpoint", f"localhost:{_free_port()}", "--rdzv-id", "opec-test",
               "tools/train.py", str(cfg), "--work-dir", str(work), "--device", "cpu", "--epochs", "1"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert [e for e, *_ in read_map_file(work / "mAP.txt")] == [0]
    cache = sorted(f.name for f in (work / "feature_cache").iterdir())
    assert cache == sorted(f"{split}.{ext}" for split in ("train", "test")
                           for ext in ("json", "tap0.npy", "tap1.npy", "tap2.npy"))
