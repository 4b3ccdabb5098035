"""Feature networks beyond AlphaPose's FastPose (which lives in :mod:`opec.sppe`).

Each module registers its network in ``opec.registry.FEATURE_NETS``; importing it here is its
registration (docs/architecture.md, "a new backbone").
"""
from opec.backbones.resnet import ResNetSimpleBaseline

__all__ = ["ResNetSimpleBaseline"]
