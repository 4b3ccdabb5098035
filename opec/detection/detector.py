"""YOLOv3-SPP person detector: letterbox → Darknet → AlphaPose post-processing → image-pixel boxes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from opec.registry import DETECTORS

from .darknet import Darknet
from .postprocess import dynamic_write_results, map_to_image
from .preprocess import check_image, letterbox
from .weights import check_weights_file, load_darknet_weights

DEFAULT_CFG = Path(__file__).with_name("yolov3-spp.cfg")
DEFAULT_WEIGHTS = Path("weights/yolo/yolov3-spp.weights")


@DETECTORS.register_module(name="YOLOv3")
class YOLODetector:
    """Person boxes from BGR images, as AlphaPose's detection stage.

    Args:
        cfg_path: Darknet cfg (default: the packaged ``yolov3-spp.cfg``).
        weights: Darknet ``.weights`` file; ``None`` keeps the random initialisation (tests, benchmarks).
        inp_dim: letterbox size D (a multiple of 32; AlphaPose uses 608).
        device: torch device for the network.
        confidence: objectness threshold (strict ``>``).
        nms_thresh: greedy NMS IoU threshold (rerun at ``nms_thresh - 0.05`` above 100 boxes).
        det_batch: images per network batch and per rerun decision (AlphaPose ``--detbatch``, default 1).
    """

    def __init__(self, cfg_path: str | Path = DEFAULT_CFG, weights: str | Path | None = DEFAULT_WEIGHTS,
                 inp_dim: int = 608, device: str | torch.device = "cpu", confidence: float = 0.05,
                 nms_thresh: float = 0.6, det_batch: int = 1):
        if inp_dim <= 0 or inp_dim % 32:
            raise ValueError(f"inp_dim: expected a positive multiple of 32, got {inp_dim}")
        if det_batch < 1:
            raise ValueError(f"det_batch: expected >= 1, got {det_batch}")
        self.inp_dim, self.confidence, self.nms_thresh, self.det_batch = inp_dim, confidence, nms_thresh, det_batch
        self.device = torch.device(device)
        if weights is not None:
            check_weights_file(weights)  # before building the 63M-parameter network
        model = Darknet(cfg_path).eval()
        if weights is not None:
            load_darknet_weights(model, weights)
        # inference only: folding BN into the convs changes outputs by float rounding alone
        self.model = model.fuse_batchnorm().to(self.device, memory_format=torch.channels_last)

    @torch.inference_mode()
    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        """Letterboxed inputs (B, 3, D, D) → decoded prediction (B, N, 5+C) on the model's device."""
        inputs = inputs.to(self.device).contiguous(memory_format=torch.channels_last)
        return self.model(inputs)

    def detect(self, images: list[np.ndarray]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """BGR uint8 images → per image (boxes (K, 4) float32 x1, y1, x2, y2 in image pixels,
        scores (K,) float32 objectness), CPU tensors, in descending objectness; K may be 0."""
        for i, image in enumerate(images):
            check_image(image, f"images[{i}]")
        results = []
        for start in range(0, len(images), self.det_batch):
            chunk = images[start:start + self.det_batch]
            inputs = torch.cat([letterbox(image, self.inp_dim) for image in chunk])
            dets, _ = dynamic_write_results(self.predict(inputs), self.confidence, self.nms_thresh)
            dets = dets.float().cpu()
            batch_index = dets[:, 0].long()
            image_wh = torch.tensor([[im.shape[1], im.shape[0]] for im in chunk], dtype=torch.float32)
            boxes = map_to_image(dets[:, 1:5], image_wh[batch_index], self.inp_dim)
            for b in range(len(chunk)):
                mine = batch_index == b
                results.append((boxes[mine], dets[mine, 5]))
        return results
