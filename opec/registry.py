"""Registry of models built from config dicts (``dict(type='OPECNet', ...)``).

The refiner variants (OPECNet and the end-to-end "Alpha" variants, which register themselves
when their module is imported) are chosen by the config's ``model.type``.
"""
from mmengine.registry import Registry

MODELS = Registry("model")
