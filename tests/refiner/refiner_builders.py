"""Helpers shared by the refiner tests: build the model the reference-vector files describe."""
from __future__ import annotations

from opec.refiner import OPECNet, load_refiner_checkpoint

VECTOR_FILES = ("opec_fc_vectors.pt", "opec_att_vectors.pt")
# The original model class of each file → this project's point head.
ORIGINAL_TYPES = {"SemGCN_FC": "fc", "SemGCN_Attention": "integral"}



def model_kwargs(vectors) -> dict:
    """OPECNet arguments equivalent to the original config stored in a vector file."""
    cfg = vectors["config"]
    hid = set(cfg["hid_dim"])
    assert len(hid) == 1, "the original's channel arithmetic only works with one hid_dim"
    taps = vectors["inputs"]["ret_features"]
    return dict(
        num_joints=cfg["num_joints"],
        edges=[tuple(e) for e in cfg["adj"]],
        hid_dim=hid.pop(),
        point_head=ORIGINAL_TYPES[cfg["type"]],
        tap_channels=tuple(t.shape[1] for t in taps),
        heatmap_size=tuple(taps[2].shape[-2:]),
    )


def build_reference_model(vectors) -> OPECNet:
    model = OPECNet(**model_kwargs(vectors))
    load_refiner_checkpoint(model, vectors["state_dict"])
    return model
