"""OPEC-Net refiner: cascaded feature adaptation + image-guided progressive GCN, and the top-down
model that puts it on a feature network's taps."""
from opec.refiner.builder import build_refiner
from opec.refiner.checkpoint import CheckpointError, load_refiner_checkpoint
from opec.refiner.loss import opec_loss
from opec.refiner.opec_net import OPECNet, RefinerOutput
from opec.refiner.top_down import TopDownRefiner, build_model

__all__ = ["OPECNet", "RefinerOutput", "TopDownRefiner", "opec_loss", "build_model", "build_refiner",
           "load_refiner_checkpoint", "CheckpointError"]
