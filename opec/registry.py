"""The registries of every swappable part, and the one function that builds from them.

A part is chosen in a config by ``dict(type='Name', **arguments)``; ``build(REGISTRY, cfg, field)``
turns that into an object. Each registry lists the modules that register into it (``locations``):
they are imported on the registry's first use, so adding a part is one decorated class in one new
module plus its module path here (docs/architecture.md has the recipes).

===================  =======================================================  ===================
registry             holds                                                    config field
===================  =======================================================  ===================
``DETECTORS``        person detectors: ``YOLOv3``                             ``detector``
``FEATURE_NETS``     single-person networks giving heatmaps and the three     ``model.feature_net``
                     feature taps: ``FastPose`` (AlphaPose SPPE),
                     ``ResNetSimpleBaseline``
``REFINERS``         pose refiners: ``OPECNet``                               ``model.refiner``
``MODELS``           assembled models: ``TopDownRefiner``                     ``model``
``FEATURE_SOURCES``  where the refiner's features come from: ``LiveFeatures``,  chosen from ``model``
                     ``CachedFeatures``, ``FineTunedFeatures``                 and ``feature_cache``
``DATASETS``         dataset specs (joints, OKS rule, file rules, readers):    ``test_data.dataset``
                     ``crowdpose``, ``coco``, ``ochuman``, ``ocpose``,
                     ``demo``
===================  =======================================================  ===================
"""
from __future__ import annotations

from collections.abc import Mapping

from mmengine.registry import Registry

DETECTORS = Registry("detector", locations=["opec.detection.detector"])
FEATURE_NETS = Registry("feature net", locations=["opec.sppe", "opec.backbones"])
REFINERS = Registry("refiner", locations=["opec.refiner.opec_net"])
MODELS = Registry("model", locations=["opec.refiner.top_down"])
FEATURE_SOURCES = Registry("feature source", locations=["opec.engine.feature_sources"])
DATASETS = Registry("dataset", locations=["opec.datasets"])


def build(registry: Registry, cfg: Mapping, field: str, **defaults):
    """``registry``'s part named by ``cfg['type']``, built with the other entries of ``cfg``
    (``defaults`` fill arguments the config leaves out).

    Raises ValueError in one line naming the config ``field`` for a missing or unknown type, or
    arguments the part does not take.
    """
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ValueError(f"{field}: expected a dict with a 'type' field, got {cfg!r}")
    kind = cfg["type"]
    part = registry.get(kind)
    if part is None:
        raise ValueError(f"{field}.type: unknown {registry.name} {kind!r}; "
                         f"registered: {', '.join(sorted(registry.module_dict))}")
    arguments = {**defaults, **{k: v for k, v in cfg.items() if k != "type"}}
    try:
        return part(**arguments)
    except TypeError as exc:  # unknown or missing keyword arguments
        raise ValueError(f"{field} ({kind}): {exc}") from exc
