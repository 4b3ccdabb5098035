"""Keypoint evaluation identical to the official evaluators, and the OPEC-Net protocol pieces.

``KeypointEvaluator`` / ``evaluate_keypoints`` compute AP/AR for crowdpose, ocpose, coco and
ochuman (official or OPEC-12 protocol; official or xtcocotools convention);
``opec.evaluation.protocol`` holds the pure functions OPEC-Net's testing uses (low-confidence joint
replacement, best-match transplant, mAP.txt).
"""
from opec.evaluation.keypoint_ap import CONVENTIONS, DATASETS, PROTOCOLS, KeypointEvaluator, evaluate_keypoints
from opec.evaluation.protocol import (
    box_iou_xyxy,
    replace_low_confidence,
    transplant_best_match,
)
from opec.evaluation.map_file import append_map_line, read_map_file
from opec.evaluation.inputs import EvaluationError

__all__ = [
    "CONVENTIONS", "DATASETS", "PROTOCOLS", "EvaluationError", "KeypointEvaluator", "evaluate_keypoints",
    "append_map_line", "box_iou_xyxy", "read_map_file", "replace_low_confidence", "transplant_best_match",
]
