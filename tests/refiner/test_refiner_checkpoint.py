"""Checkpoint loading: original key names, wrappers, and one-line errors (no reference files)."""
from __future__ import annotations

import pytest
import torch

from opec.refiner import CheckpointError, OPECNet, load_refiner_checkpoint
from opec.refiner.checkpoint import new_to_original_key, original_to_new_key

# A few key names as the original OPEC-Net code saves them (spec §18) and where they belong.
ORIGINAL_EXAMPLES = {
    "heat_map_generator.level_conv1_1.weight": "feature_adaptation.conv16.weight",
    "heat_map_generator.attention_conv2_up_a.channel_attention.fc.2.bias": "feature_adaptation.fuse4.excite.bias",
    "heat_map_generator.level_conv_out.bias": "feature_adaptation.heatmap_conv.bias",
    "gconv_input.gconv.W": "gcn.input_block.gconv.W",
    "gconv_layers1.gconv2.gconv.e": "gcn.blocks.0.gconv2.e",
    "gconv_layers4.attention.squeeze.2.weight": "gcn.blocks.3.attention.squeeze.2.weight",
    "gconv_layers3.gconv1.bn.running_var": "gcn.blocks.2.gconv1.bn.running_var",
    "gconv_output3.bias": "gcn.stage_heads.2.bias",
    "FC.0.0.weight": "point_head.fc1.weight",
    "FC.2.bias": "point_head.out.bias",
}


@pytest.fixture(scope="module", params=["integral", "fc"])
def model(request):
    torch.manual_seed(0)
    return OPECNet(point_head=request.param)


def is_fc(model) -> bool:
    return hasattr(model.point_head, "fc1")


def same_variant(model) -> OPECNet:
    return OPECNet(point_head="fc" if is_fc(model) else "integral")


def original_state_dict(model):
    return {new_to_original_key(k): v.clone() for k, v in model.state_dict().items()}


def test_key_mapping_examples_and_round_trip(model):
    for original, new in ORIGINAL_EXAMPLES.items():
        assert original_to_new_key(original) == new
        assert new_to_original_key(new) == original
    for key in model.state_dict():
        assert original_to_new_key(new_to_original_key(key)) == key
        assert new_to_original_key(key) != key  # every tensor has an original name


def test_original_entry_counts(model):
    # 117 entries for SemGCN_Attention, 123 for SemGCN_FC (spec §18).
    assert len(model.state_dict()) == (123 if is_fc(model) else 117)


def test_original_file_loads_and_matches(model, tmp_path):
    path = tmp_path / "best_checkpoint.pth"
    torch.save(original_state_dict(model), path)
    fresh = same_variant(model)
    load_refiner_checkpoint(fresh, path)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value), key


def test_wrappers_are_unwrapped(model):
    sd = original_state_dict(model)
    fresh = same_variant(model)
    load_refiner_checkpoint(fresh, {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 3})
    assert torch.equal(fresh.gcn.input_block.gconv.W, model.gcn.input_block.gconv.W)


def test_missing_num_batches_tracked_is_tolerated(model):
    sd = {k: v for k, v in original_state_dict(model).items() if not k.endswith("num_batches_tracked")}
    fresh = same_variant(model)
    load_refiner_checkpoint(fresh, sd)
    assert fresh.gcn.input_block.bn.num_batches_tracked.item() == 0


def test_wrong_shape_names_key_and_both_shapes():
    model = OPECNet()
    sd = original_state_dict(model)
    sd["gconv_layers2.gconv1.gconv.W"] = torch.zeros(2, 384, 100)
    with pytest.raises(CheckpointError) as info:
        load_refiner_checkpoint(model, sd)
    message = str(info.value)
    assert "\n" not in message
    assert "'gconv_layers2.gconv1.gconv.W'" in message
    assert "(2, 384, 100)" in message and "(2, 384, 192)" in message


def test_unknown_and_missing_keys():
    attention = OPECNet()
    fc_sd = original_state_dict(OPECNet(point_head="fc"))
    with pytest.raises(CheckpointError, match=r"unexpected key 'FC\.0\.0\.weight'.*\(1024, 5120\)"):
        load_refiner_checkpoint(attention, fc_sd)
    fc = OPECNet(point_head="fc")
    with pytest.raises(CheckpointError, match=r"missing key 'point_head\.fc1\.weight' \(original name 'FC\.0\.0\.weight'\)"):
        load_refiner_checkpoint(fc, original_state_dict(attention))


def test_missing_file_and_garbage_file(tmp_path):
    model = OPECNet()
    with pytest.raises(FileNotFoundError, match="nope.pth: refiner checkpoint not found"):
        load_refiner_checkpoint(model, tmp_path / "nope.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="bad.pth: not a readable PyTorch refiner checkpoint") as info:
        load_refiner_checkpoint(model, bad)
    assert "\n" not in str(info.value)


def test_a_pickle_with_code_is_refused_without_the_unsafe_advice(tmp_path):
    import pickle

    path = tmp_path / "code.pth"
    path.write_bytes(pickle.dumps(OPECNet))  # loading it would import and run code
    with pytest.raises(CheckpointError, match="code.pth: not a readable PyTorch refiner checkpoint") as info:
        load_refiner_checkpoint(OPECNet(), path)
    assert "weights_only" not in str(info.value) and "\n" not in str(info.value)


def test_plain_load_state_dict_accepts_original_names_without_touching_the_callers_dict(model):
    sd = original_state_dict(model)
    keys_before = list(sd)
    fresh = same_variant(model)
    fresh.load_state_dict(sd)
    assert list(sd) == keys_before
    assert torch.equal(fresh.feature_adaptation.conv16.weight, model.feature_adaptation.conv16.weight)
