"""End-to-end inference (detector -> SPPE -> pose NMS -> OPEC refiner) and data preparation
(processed annotations from any COCO-format keypoint dataset)."""
from opec.apis.pipeline import TopDownPipeline, build_pipeline

__all__ = ["TopDownPipeline", "build_pipeline"]
