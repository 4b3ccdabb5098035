"""The feature cache built once per cluster: two gloo processes each compute their share of the
persons, and both end with the cache a single process builds (memory: exchanged once; disk: per-rank
shard files merged into the shared files), bit for bit. A restart with the same disk fingerprint computes nothing."""
import hashlib
import json
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from opec.data.datasets import TrainDataset
from opec.engine.features import FeatureCache


class CountingExtractor:
    """Stand-in for the frozen SPPE: pooled fixed random projections (taps of FastPose's layout at
    1/4 size: (B,512,5,4), (B,256,10,8), (B,128,20,16)) that records a digest of every crop it sees,
    so a test can count how often each person was computed."""

    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.weights = [torch.randn(c, 3, generator=generator) for c in (512, 256, 128)]
        self.seen: list[list[str]] = []  # per call, the digests of its crops

    def __call__(self, inps: torch.Tensor) -> list[torch.Tensor]:
        self.seen.append([crop_digest(x) for x in inps])
        return [torch.einsum("ck,bkhw->bchw", w, torch.nn.functional.avg_pool2d(inps, s)).relu()
                for w, s in zip(self.weights, (64, 32, 16))]


def crop_digest(crop: torch.Tensor) -> str:
    return hashlib.sha1(crop.contiguous().numpy().tobytes()).hexdigest()


def _dataset(data):
    return TrainDataset([dict(json_file=data / "train_process_datasets/train_demo.json", type="crowdpose",
                              img_dir=data / "images")], crops=False)


def _build(dataset, extractor, storage, path):
    return FeatureCache.build(dataset, extractor, device="cpu", storage=storage, path=path,
                              fingerprint={"test": 1}, batch_size=4, num_workers=0)


def _worker(rank, world, port, data, storage, out):
    """One process: join the gloo group, build the cache, save its taps and the crops it computed."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        extractor = CountingExtractor()
        cache = _build(_dataset(data), extractor, storage, out / "cache" / "train")
        np.savez(out / f"taps{rank}.npz", *[t.numpy() for t in cache.taps])
        (out / f"seen{rank}.json").write_text(json.dumps(extractor.seen))
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("storage", ["memory", "disk"])
def test_two_ranks_compute_each_person_once_and_match_one_process(tiny_data, tmp_path, storage):
    dataset = _dataset(tiny_data)
    reference = _build(dataset, CountingExtractor(), storage, tmp_path / "single" / "cache" / "train")

    out = tmp_path / "two"
    out.mkdir()
    mp.spawn(_worker, args=(2, _free_port(), tiny_data, storage, out), nprocs=2, join=True)

    # Every rank ends with the whole cache, bitwise equal to the single-process one.
    for rank in range(2):
        with np.load(out / f"taps{rank}.npz") as saved:
            got = [saved[f"arr_{t}"] for t in range(len(saved.files))]
        assert len(got) == len(reference.taps) == 3
        for g, r in zip(got, reference.taps):
            assert g.shape == tuple(r.shape) and np.array_equal(g, r.numpy())

    # Each person's crop went through the extractor exactly once across the ranks. The first call
    # of each rank is the one-crop shape probe (FeatureCache.build reads the tap shapes from it).
    dataset.crops = True
    try:
        person_digest = [crop_digest(torch.as_tensor(crop)) for i in range(len(dataset)) for crop in dataset[i]["inps"]]
    finally:
        dataset.crops = False
    assert len(set(person_digest)) == dataset.num_persons  # the digests tell the persons apart
    computed = []
    for rank in range(2):
        calls = json.loads((out / f"seen{rank}.json").read_text())
        assert calls[0] == [person_digest[0]]  # the probe
        computed += [d for call in calls[1:] for d in call]
        assert calls[1:], f"rank {rank} computed no share"
    assert sorted(computed) == sorted(person_digest)

    if storage == "disk":
        # Each rank wrote its own shard files, merged by rank 0 into the final files and removed.
        assert sorted(f.name for f in (out / "cache").iterdir()) == [
            "train.json", "train.tap0.npy", "train.tap1.npy", "train.tap2.npy"]
        # A restart (same fingerprint) reuses the shared files: only the probe runs.
        again = CountingExtractor()
        cache = _build(dataset, again, "disk", out / "cache" / "train")
        assert again.seen == [[person_digest[0]]]
        assert all(torch.equal(a, b) for a, b in zip(cache.taps, reference.taps))
