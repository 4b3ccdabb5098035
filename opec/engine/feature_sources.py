"""Where the refiner's features come from -- decided in one place, :func:`build_feature_source`,
and asked by training, testing and inference alike (docs/architecture.md).

=====================  ===========================================  ================================
source                 when                                         the model's second input
=====================  ===========================================  ================================
``FineTunedFeatures``  ``model.fine_tune=True`` (the Alpha configs)  the crops; the model runs its
                                                                    own feature network
``CachedFeatures``     frozen, ``feature_cache.storage`` set         the taps, computed once per
                                                                    person (memory or disk)
``LiveFeatures``       frozen, ``feature_cache.storage=None``        the taps, computed every batch
                                                                    (as the original)
=====================  ===========================================  ================================

A source is used as: datasets are built with ``crops=source.needs_crops``; ``source.attach(split,
dataset, files)`` once per split (the cache is built there); then ``source(batch, split)`` gives
the model's second input for a collated batch (:func:`opec.data.datasets.collate_persons`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from opec.engine.features import FeatureCache
from opec.registry import FEATURE_SOURCES, build

TAPS = ("all", "first")


def frozen_extractor(feature_net: nn.Module) -> Callable[[torch.Tensor], list[torch.Tensor]]:
    """The frozen feature network as ``inps (B,3,H,W) -> [tap0, tap1, tap2]``: eval mode, no
    autograd, channels-last (faster oneDNN convolutions, and taps in the refiner's layout)."""
    feature_net.eval().requires_grad_(False).to(memory_format=torch.channels_last)

    @torch.no_grad()
    def extract(inps: torch.Tensor) -> list[torch.Tensor]:
        return list(feature_net(inps).features)

    return extract


class FeatureSource:
    """Base: ``needs_crops`` says whether datasets must load crops; see the module docstring."""

    needs_crops = True

    def attach(self, split: str, dataset, files: Sequence[str | Path]) -> None:
        """Prepare ``split`` (``'train'`` / ``'test'``) over ``dataset`` read from ``files``."""

    def __call__(self, batch: Mapping, split: str):
        raise NotImplementedError


@FEATURE_SOURCES.register_module()
class FineTunedFeatures(FeatureSource):
    """The crops themselves: the model's own (trainable) feature network makes the taps."""

    def __init__(self, device):
        self.device = torch.device(device)

    def __call__(self, batch: Mapping, split: str) -> torch.Tensor:
        return batch["inps"].to(self.device, non_blocking=True)


@FEATURE_SOURCES.register_module()
class LiveFeatures(FeatureSource):
    """The frozen feature network run on every batch's crops (the original's way)."""

    def __init__(self, feature_net: nn.Module, device):
        self.device = torch.device(device)
        self.extract = frozen_extractor(feature_net)

    def __call__(self, batch: Mapping, split: str) -> list[torch.Tensor]:
        return self.extract(batch["inps"].to(self.device, non_blocking=True))


@FEATURE_SOURCES.register_module()
class CachedFeatures(FeatureSource):
    """The frozen feature network run once per person of each split (:class:`FeatureCache`).

    Args (``feature_cache`` config): ``storage`` 'memory' | 'disk' (memory-mapped files under
    ``<cache_dir>/<split>``, reused while the annotation files and the feature network are
    unchanged), ``dtype`` 'float32' | 'float16', ``taps`` 'all' | 'first' (store tap 0 only and
    recompute the others each step with the network's ``expand_taps``), ``batch_size`` persons
    per forward. ``identity``: what names the feature network in the cache's fingerprint.
    """

    needs_crops = False

    def __init__(self, feature_net: nn.Module, device, cache_dir: str | Path, identity: Mapping,
                 storage: str = "memory", dtype: str = "float32", taps: str = "all", batch_size: int = 32,
                 num_workers: int = 0):
        if taps not in TAPS:
            raise ValueError(f"feature_cache.taps: expected one of {TAPS}, got {taps!r}")
        if taps == "first" and not hasattr(feature_net, "expand_taps"):
            raise ValueError(f"feature_cache.taps='first' needs a feature network with expand_taps "
                             f"({type(feature_net).__name__} has none); use taps='all'")
        self.device = torch.device(device)
        self.feature_net = feature_net
        self.extract = frozen_extractor(feature_net)
        self.expand = feature_net.expand_taps if taps == "first" else None
        self.cache_dir, self.identity = Path(cache_dir), dict(identity)
        self.storage, self.dtype, self.batch_size, self.num_workers = storage, dtype, int(batch_size), int(num_workers)
        self.caches: dict[str, FeatureCache] = {}

    def attach(self, split: str, dataset, files: Sequence[str | Path]) -> None:
        self.caches[split] = FeatureCache.build(
            dataset, self.extract, device=self.device, expand=self.expand, storage=self.storage,
            dtype=self.dtype, path=self.cache_dir / split, batch_size=self.batch_size,
            num_workers=self.num_workers, fingerprint={"files": file_fingerprint(files), "net": self.identity},
            desc=f"features ({split})")

    def __call__(self, batch: Mapping, split: str) -> list[torch.Tensor]:
        return self.caches[split].fetch(batch["person_ids"], self.device)


def file_fingerprint(paths: Sequence[str | Path]) -> list:
    """[resolved path, size, mtime] per file: a cache made from them is stale when one changes."""
    out = []
    for p in paths:
        p = Path(p)
        st = p.stat()
        out.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
    return out


def _net_identity(feature_net_cfg: Mapping) -> dict:
    """The feature network's config with its weights file replaced by that file's fingerprint."""
    identity = {k: v for k, v in dict(feature_net_cfg).items() if not isinstance(v, nn.Module)}
    for key in ("weights", "pretrained"):
        if identity.get(key):
            identity[key] = file_fingerprint([identity[key]])
    return identity


def build_feature_source(cfg, model, device, cache_dir: str | Path) -> FeatureSource:
    """The feature source of a config and its built model (``opec.refiner.TopDownRefiner``):
    fine-tuned when ``model.fine_tune``, else cached when ``cfg.feature_cache.storage`` is set, else
    live. ``cache_dir``: where a disk cache lives (the run's work dir; ``test.sh`` reuses it)."""
    if model.fine_tune:
        return build(FEATURE_SOURCES, dict(type="FineTunedFeatures"), "feature source", device=device)
    cache_cfg = dict(cfg.get("feature_cache") or {})
    if cache_cfg.get("storage") is None:
        return build(FEATURE_SOURCES, dict(type="LiveFeatures"), "feature source",
                     feature_net=model.feature_net, device=device)
    workers = int(cfg.train_data.get("num_workers", 4)) if "train_data" in cfg else 0
    return build(FEATURE_SOURCES, dict(type="CachedFeatures", **cache_cfg), "feature_cache",
                 feature_net=model.feature_net, device=device, cache_dir=Path(cache_dir) / "feature_cache",
                 identity=_net_identity(cfg.model.feature_net), num_workers=workers)
