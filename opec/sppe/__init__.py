"""AlphaPose's single-person pose estimator (FastPose), its heatmap decoding and parametric pose NMS."""
from opec.sppe.decode import decode_heatmaps, heatmap_peaks, heatmap_to_image
from opec.sppe.fastpose import FastPose, SPPEOutput, flip_test
from opec.sppe.fusion import compile_for_inference, fuse_for_inference
from opec.sppe.pose_nms import pose_nms, write_alphapose_results
from opec.sppe.weights import DEFAULT_SPPE_WEIGHTS, build_sppe, load_sppe_weights

__all__ = [
    "DEFAULT_SPPE_WEIGHTS", "FastPose", "compile_for_inference", "SPPEOutput", "build_sppe", "decode_heatmaps", "flip_test",
    "fuse_for_inference", "heatmap_peaks", "heatmap_to_image", "load_sppe_weights", "pose_nms", "write_alphapose_results",
]
