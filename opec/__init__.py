"""OPEC-Net: occluded-joint refinement for crowd pose estimation (ECCV 2020), on modern PyTorch."""

__version__ = "0.1.0"
