"""YOLOv3-SPP person detector (AlphaPose's detection stage): Darknet cfg + .weights, letterbox, NMS."""
from .cfg import CfgError, DarknetCfg, parse_cfg
from .darknet import Darknet
from .detector import DEFAULT_CFG, DEFAULT_WEIGHTS, YOLODetector
from .postprocess import box_iou_plus1, dynamic_write_results, greedy_nms, map_to_image, select_persons, write_results
from .preprocess import letterbox
from .weights import (DarknetHeader, expected_file_size, load_darknet_weights, read_header, save_darknet_weights,
                      weight_layout)

__all__ = [
    "CfgError", "DarknetCfg", "parse_cfg", "Darknet", "DEFAULT_CFG", "DEFAULT_WEIGHTS", "YOLODetector",
    "box_iou_plus1", "dynamic_write_results", "greedy_nms", "map_to_image", "select_persons", "write_results",
    "letterbox", "DarknetHeader", "expected_file_size", "load_darknet_weights", "read_header",
    "save_darknet_weights", "weight_layout",
]
