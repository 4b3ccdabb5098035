"""The feature cache: frozen SPPE taps computed once per person, in memory or on disk.

When the feature network is frozen, it runs (eval mode, no gradients) on crops that never change
(no augmentation), so every epoch recomputes exactly the same three taps -- about 75 % of the
original's training cost. :class:`FeatureCache` computes them once per person, in batches, and
keeps them in memory or in a memory-mapped file (``storage='disk'``, reused by later runs and by
resumes), optionally as float16 (halves the size; the benchmark reports the error it introduces).
A batch then fetches its persons' taps by person id into buffers allocated once.

Taps are stored and handed out channels-last (memory (N, H, W, C), seen as (N, C, H, W) tensors with
channels-last strides): the refiner's decoder runs in that layout and adds the taps to its own
maps, and converting NCHW taps costs it about a tenth of its forward time.

An *extractor* is any callable ``inps (B,3,H,W) -> [tap0 (B,C0,H/16,W/16), tap1 (B,C1,H/8,W/8),
tap2 (B,C2,H/4,W/4)]`` (FastPose: C = 512, 256, 128); :class:`opec.engine.feature_sources.CachedFeatures`
builds and uses the cache.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from opec.data.datasets import collate_persons
from opec.engine import distributed as dist_utils
from opec.engine.progress import Progress

STORAGES = ("memory", "disk")
DTYPES = {"float32": torch.float32, "float16": torch.float16}


class FeatureCache:
    """The three SPPE taps of every person of a dataset, indexed by person id.

    ``taps``: three CPU tensors (N, H_t, W_t, C_t) of the storage dtype (memory or memmap backed),
    i.e. the channels-last memory of the (N, C_t, H_t, W_t) taps.
    """

    def __init__(self, taps: list[torch.Tensor], expand=None):
        self.taps = taps
        self.expand = expand  # [tap0] -> [tap0, tap1, tap2] when only the first tap is stored
        self._host: list[torch.Tensor] | None = None
        self._device: list[torch.Tensor] | None = None

    @property
    def dtype(self) -> torch.dtype:
        return self.taps[0].dtype

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.taps)

    def fetch(self, person_ids: torch.Tensor, device: torch.device | str) -> list[torch.Tensor]:
        """Float32 taps (P, C_t, H_t, W_t), channels-last, of ``person_ids`` on ``device``.

        The returned tensors are views of buffers reused by the next call (grown when a batch is
        larger than any before): use them within the step.
        """
        device = torch.device(device)
        count = len(person_ids)
        if self._host is None or self._host[0].shape[0] < count:
            capacity = max(count, 1)
            pin = device.type == "cuda"
            self._host = [torch.empty((capacity, *t.shape[1:]), dtype=t.dtype, pin_memory=pin)
                          for t in self.taps]
            same = device.type == "cpu" and self.dtype == torch.float32
            self._device = None if same else [torch.empty((capacity, *t.shape[1:]), device=device)
                                              for t in self.taps]
        out = []
        for t, tap in enumerate(self.taps):
            host = self._host[t][:count]
            torch.index_select(tap, 0, person_ids, out=host)
            if self._device is None:
                out.append(host.permute(0, 3, 1, 2))
            else:
                dev = self._device[t][:count]
                dev.copy_(host, non_blocking=True)
                out.append(dev.permute(0, 3, 1, 2))
        if self.expand is not None:
            with torch.no_grad():
                out = self.expand(out)
        return out

    @classmethod
    def build(cls, dataset, extractor, *, device, storage: str = "memory", dtype: str = "float32",
              path: str | Path | None = None, fingerprint: dict | None = None, batch_size: int = 32,
              num_workers: int = 2, desc: str = "features", expand=None) -> "FeatureCache":
        """Run ``extractor`` once over every person of ``dataset`` (a dataset whose ``crops``
        attribute turns image loading on) and store the taps -- only the first one when ``expand``
        (a function [tap0] -> [tap0, tap1, tap2], the feature network's ``expand_taps``) is given.

        ``storage='disk'`` writes ``<path>.tap{0,1,2}.npy`` memmaps plus ``<path>.json`` holding
        ``fingerprint``; a later call with the same fingerprint reuses the files (a restart, a resume,
        ``test.sh``). Under ``torchrun`` every rank computes only its share (dataset items
        ``rank::world``), so N processes build the cache about N times faster. Memory shards are
        exchanged once (:func:`_share_shards`). Disk shards go to one file per rank and tap
        (``<path>.rank<r>.tap<t>.npy``; two nodes never write the same file, whose shared pages a
        network file system could clobber), which rank 0 then copies into the final files
        (:func:`_merge_shards`); the work folder must be on storage every node sees.
        """
        if storage not in STORAGES:
            raise ValueError(f"feature_cache.storage: expected one of {STORAGES}, got {storage!r}")
        if dtype not in DTYPES:
            raise ValueError(f"feature_cache.dtype: expected one of {tuple(DTYPES)}, got {dtype!r}")
        num = dataset.num_persons
        rank, world = dist_utils.rank(), dist_utils.world_size()
        shapes = _tap_shapes(dataset, extractor, device)[:1 if expand is not None else 3]
        stored = len(shapes)
        torch_dtype = DTYPES[dtype]
        todo = list(range(rank, len(dataset), world))
        row_of = None  # person id -> row of this rank's shard files (sharded disk build)
        if storage == "disk":
            if path is None:
                raise ValueError("feature_cache: storage 'disk' needs a path")
            path = Path(path)
            meta_path = path.with_suffix(".json")
            meta = {"fingerprint": _digest(fingerprint), "shapes": shapes, "dtype": dtype, "persons": num,
                    "layout": "NHWC"}
            if _reusable(meta_path, meta):
                return cls([torch.from_numpy(_open_memmap(path, t, "r")) for t in range(stored)], expand)
            if rank == 0:
                path.parent.mkdir(parents=True, exist_ok=True)
                size = num * sum(int(np.prod(s)) for s in shapes) * torch_dtype.itemsize
                _check_disk_space(path.parent, size * (2 if world > 1 else 1))  # shards + final files
                meta_path.unlink(missing_ok=True)
                if world == 1:
                    for t, shape in enumerate(shapes):
                        _open_memmap(path, t, "w+", (num, *_channels_last(shape)), dtype).flush()
            dist_utils.barrier()
            if world == 1:
                arrays = [_open_memmap(path, t, "r+") for t in range(stored)]
            else:
                ids = _person_ids(dataset, todo)
                row_of = torch.full((num,), -1, dtype=torch.int64)
                row_of[ids] = torch.arange(len(ids))
                arrays = [_open_memmap(_shard_path(path, rank), t, "w+", (len(ids), *_channels_last(shape)), dtype)
                          for t, shape in enumerate(shapes)]
            taps = [torch.from_numpy(a) for a in arrays]
        else:
            taps = [torch.empty((num, *_channels_last(shape)), dtype=torch_dtype) for shape in shapes]

        if rank == 0:
            print(f"[{desc}] computing the frozen SPPE taps of {num} persons once "
                  f"({storage}, {dtype}, {sum(int(np.prod(s)) for s in shapes) * num * torch_dtype.itemsize / 2**20:.0f} MiB)",
                  flush=True)
        crops_before = dataset.crops
        dataset.crops = True
        loader = DataLoader(Subset(dataset, todo), batch_size=_items_per_batch(dataset, batch_size),
                            shuffle=False, num_workers=num_workers, collate_fn=collate_persons)
        bar = Progress(len(todo), desc, "img" if len(dataset) != num else "person")
        mine = []  # person ids this rank computed
        try:
            for batch in loader:
                ids = batch["person_ids"]
                mine.append(ids)
                rows = ids if row_of is None else row_of[ids]
                for start in range(0, len(ids), batch_size):
                    feats = extractor(batch["inps"][start:start + batch_size].to(device))
                    for tap, feat in zip(taps, feats):
                        tap[rows[start:start + batch_size]] = feat.to("cpu", torch_dtype).permute(0, 2, 3, 1)
                bar.update(len(batch["images"]))
        finally:
            bar.close()
            dataset.crops = crops_before
        if storage == "disk":
            for array in arrays:
                array.flush()
            del taps, arrays
            dist_utils.barrier()
            if rank == 0:
                if world > 1:
                    _merge_shards(path, dataset, shapes, dtype, world)
                meta_path.write_text(json.dumps(meta))  # the metadata marks the files complete
            dist_utils.barrier()
            return cls([torch.from_numpy(_open_memmap(path, t, "r")) for t in range(stored)], expand)
        if world > 1:
            _share_shards(taps, torch.cat(mine) if mine else torch.empty(0, dtype=torch.int64))
        return cls(taps, expand)


def _person_ids(dataset, items: list[int]) -> torch.Tensor:
    """The person ids of dataset ``items``, in order (read without loading images)."""
    crops_before = dataset.crops
    dataset.crops = False
    try:
        ids = [np.asarray(dataset[i]["person_ids"]) for i in items]
    finally:
        dataset.crops = crops_before
    return torch.from_numpy(np.concatenate(ids) if ids else np.zeros(0, np.int64)).long()


def _shard_path(path: Path, rank: int) -> Path:
    """Prefix of rank ``rank``'s shard files: ``<path>.rank<r>.tap<t>.npy``."""
    return path.with_name(f"{path.name}.rank{rank}")


def _merge_shards(path: Path, dataset, shapes, dtype: str, world: int, chunk: int = 256) -> None:
    """Rank 0: create the final ``<path>.tap<t>.npy`` files and copy every rank's shard rows into
    them (rank r holds the persons of items r::world, in order), ``chunk`` persons at a time; the
    shard files are deleted."""
    num = dataset.num_persons
    for t, shape in enumerate(shapes):
        final = _open_memmap(path, t, "w+", (num, *_channels_last(shape)), dtype)
        for r in range(world):
            ids = _person_ids(dataset, list(range(r, len(dataset), world))).numpy()
            shard = _open_memmap(_shard_path(path, r), t, "r")
            for start in range(0, len(ids), chunk):
                final[ids[start:start + chunk]] = shard[start:start + chunk]
            del shard
        final.flush()
        del final
    for r in range(world):
        for t in range(len(shapes)):
            (path.parent / f"{_shard_path(path, r).name}.tap{t}.npy").unlink()


def _share_shards(taps: list[torch.Tensor], mine: torch.Tensor, chunk: int = 64) -> None:
    """Fill every rank's in-memory ``taps`` (N, H, W, C) with the rows the other ranks computed.

    ``mine``: the person ids this rank computed. Each rank's rows are broadcast from it once, in
    chunks of ``chunk`` persons (the extra memory is one chunk; rows are copied, never summed, so
    the result is bitwise the single-process cache). NCCL only moves CUDA tensors: the chunks then
    travel through this rank's GPU.
    """
    import torch.distributed as dist

    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    owners = [None] * dist_utils.world_size()
    dist.all_gather_object(owners, mine.tolist())
    for src, ids in enumerate(owners):
        ids = torch.as_tensor(ids, dtype=torch.int64)
        for start in range(0, len(ids), chunk):
            rows = ids[start:start + chunk]
            for tap in taps:
                if src == dist_utils.rank():
                    buffer = tap[rows].to(device)
                else:
                    buffer = torch.empty((len(rows), *tap.shape[1:]), dtype=tap.dtype, device=device)
                dist.broadcast(buffer, src=src)
                if src != dist_utils.rank():
                    tap[rows] = buffer.cpu()


def _check_disk_space(folder: Path, needed: int) -> None:
    """One-line OSError when ``folder``'s file system cannot hold ``needed`` more bytes."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise OSError(f"{folder}: the feature cache needs {needed / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB "
                      "are free; set feature_cache.dtype='float16', another work_root, or "
                      "feature_cache=dict(storage=None) to recompute the features every step")


def _channels_last(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """(C, H, W) -> (H, W, C): the stored layout of one person's tap."""
    channels, height, width = shape
    return height, width, channels


def _tap_shapes(dataset, extractor, device) -> list[tuple[int, int, int]]:
    """(C, H, W) of each tap, from one person's crop."""
    crops_before = dataset.crops
    dataset.crops = True
    try:
        inps = dataset[0]["inps"][:1]
    finally:
        dataset.crops = crops_before
    feats = extractor(torch.as_tensor(inps).to(device))
    return [tuple(int(s) for s in f.shape[1:]) for f in feats]


def _items_per_batch(dataset, persons: int) -> int:
    """Images per loader batch so that a batch holds about ``persons`` persons."""
    per_item = max(1, round(dataset.num_persons / len(dataset)))
    return max(1, persons // per_item)


def _digest(fingerprint: dict | None) -> str:
    return hashlib.sha256(json.dumps(fingerprint, sort_keys=True, default=str).encode()).hexdigest()


def _reusable(meta_path: Path, meta: dict) -> bool:
    try:
        old = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        return False
    old["shapes"] = [tuple(s) for s in old.get("shapes", [])]
    return old == meta


def _open_memmap(path: Path, tap: int, mode: str, shape=None, dtype=None) -> np.memmap:
    """The memmap file ``<path>.tap<tap>.npy``: created (``w+``), read-write or read-only."""
    file = path.parent / f"{path.name}.tap{tap}.npy"
    if mode == "w+":
        return np.lib.format.open_memmap(file, mode="w+", dtype=np.dtype(dtype), shape=shape)
    # "c" (copy-on-write) for reading keeps the array writable for torch without touching the file.
    return np.load(file, mmap_mode="c" if mode == "r" else mode)
