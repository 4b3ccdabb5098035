"""OPEC-Net refiner: cascaded feature adaptation + image-guided progressive GCN."""
from opec.refiner.builder import build_refiner
from opec.refiner.checkpoint import CheckpointError, load_refiner_checkpoint
from opec.refiner.loss import opec_loss
from opec.refiner.opec_net import OPECNet, RefinerOutput

__all__ = ["OPECNet", "RefinerOutput", "opec_loss", "build_refiner", "load_refiner_checkpoint", "CheckpointError"]
