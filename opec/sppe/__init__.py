"""AlphaPose's single-person pose estimator (FastPose), its heatmap decoding and parametric pose NMS."""
from opec.sppe.fastpose import FastPose, SPPEOutput, flip_test

__all__ = ["FastPose", "SPPEOutput", "flip_test"]
