"""Loading duc_se.pth-style state dicts (official key names, optional num_batches_tracked, legacy
pickle format, ``module.`` prefix) and the error messages; independent of ../shared."""
from __future__ import annotations

import pytest
import torch

from opec.sppe import FastPose, build_sppe, load_sppe_weights


@pytest.fixture(scope="module")
def reference_state():
    torch.manual_seed(1)
    model = FastPose()
    for module in model.modules():  # non-trivial BN statistics: a swapped field would show
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
            module.num_batches_tracked.fill_(7)
    return {key: value.clone() for key, value in model.state_dict().items()}


@pytest.fixture(scope="module")
def target_model():
    torch.manual_seed(2)
    return FastPose()


def _assert_loaded(model, state, skip_tracked=False):
    loaded = model.state_dict()
    for key, value in state.items():
        if skip_tracked and key.endswith("num_batches_tracked"):
            continue
        assert torch.equal(loaded[key], value), key


def test_key_layout_of_the_official_file(reference_state):
    assert len(reference_state) == 654
    assert sum(v.numel() for k, v in reference_state.items() if not k.endswith("num_batches_tracked")) == 59_696_737
    assert reference_state["conv_out.weight"].shape == (33, 128, 3, 3)
    assert reference_state["preact.layer3.0.se.fc.0.weight"].shape == (1024, 1024)
    assert "preact.layer3.1.se.fc.0.weight" not in reference_state  # SE only in the first block


def test_load_without_num_batches_tracked_legacy_format(tmp_path, reference_state, target_model):
    state = {k: v for k, v in reference_state.items() if not k.endswith("num_batches_tracked")}
    assert len(state) == 548
    path = tmp_path / "duc_se.pth"
    torch.save(state, path, _use_new_zipfile_serialization=False)  # PyTorch 0.4-style pickle
    load_sppe_weights(target_model, path)
    _assert_loaded(target_model, state)


def test_load_with_num_batches_tracked_and_build(tmp_path, reference_state):
    path = tmp_path / "duc_se.pth"
    torch.save(reference_state, path)
    model = build_sppe(path)
    assert not model.training
    _assert_loaded(model, reference_state)


def test_module_prefix_is_removed_but_mixed_keys_are_rejected(reference_state, target_model):
    prefixed = {"module." + k: v for k, v in reference_state.items()}
    load_sppe_weights(target_model, prefixed)
    _assert_loaded(target_model, reference_state)
    mixed = dict(reference_state)
    mixed["module.conv_out.bias"] = mixed.pop("conv_out.bias")
    with pytest.raises(ValueError, match=r"missing key 'conv_out.bias'"):
        load_sppe_weights(target_model, mixed)


def test_seventeen_channel_head_is_rejected_with_shapes(reference_state, target_model):
    state = dict(reference_state)
    state["conv_out.weight"] = state["conv_out.weight"][:17]
    with pytest.raises(ValueError, match=r"conv_out.weight: expected shape \(33, 128, 3, 3\), got \(17, 128, 3, 3\)"):
        load_sppe_weights(target_model, state)


def test_missing_file_names_path_and_readme(tmp_path, target_model):
    path = tmp_path / "weights" / "sppe" / "duc_se.pth"
    with pytest.raises(FileNotFoundError) as info:
        load_sppe_weights(target_model, path)
    message = str(info.value)
    assert str(path) in message and "see weights/README.md" in message and "\n" not in message
    with pytest.raises(FileNotFoundError, match="see weights/README.md"):
        build_sppe(path)
