"""The ResNet SimpleBaseline feature network: tap shapes, ImageNet input normalisation, a local
torchvision checkpoint for the trunk, and the refiner training on its taps through the same
trainer as FastPose (chosen by config alone)."""
from __future__ import annotations

import pytest
import torch
import torchvision

from opec.backbones.resnet import IMAGENET_MEAN, IMAGENET_STD, ResNetSimpleBaseline
from opec.data.crop import RGB_MEAN
from opec.registry import FEATURE_NETS, build


def test_taps_at_16_8_4_and_heatmaps():
    net = ResNetSimpleBaseline(depth="resnet18").eval()
    with torch.no_grad():
        out = net(torch.zeros(2, 3, 320, 256))
    assert [tuple(t.shape) for t in out.features] == [(2, 256, 20, 16), (2, 256, 40, 32), (2, 256, 80, 64)]
    assert tuple(out.heatmaps.shape) == (2, 17, 80, 64)
    with torch.no_grad():  # tap0 alone gives the other two (what the tap0-only cache relies on)
        again = net.expand_taps(out.features[:1])
    for a, b in zip(again, out.features):
        torch.testing.assert_close(a, b)


def test_crop_becomes_imagenet_normalised_input():
    net = ResNetSimpleBaseline(depth="resnet18")
    rgb = torch.rand(1, 3, 4, 4)
    crop = rgb - torch.tensor(RGB_MEAN).view(1, 3, 1, 1)          # what opec.data.crop produces
    expected = (rgb - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(crop * net.input_scale + net.input_shift, expected)


def test_random_weights_depend_only_on_the_seed():
    a = ResNetSimpleBaseline(depth="resnet18", seed=1).state_dict()
    torch.rand(10)
    b = ResNetSimpleBaseline(depth="resnet18", seed=1).state_dict()
    c = ResNetSimpleBaseline(depth="resnet18", seed=2).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["trunk.0.weight"], c["trunk.0.weight"])


def test_imagenet_file_initialises_the_trunk(tmp_path):
    torch.manual_seed(5)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(reference.state_dict(), path)  # torchvision's own format, classifier included
    net = build(FEATURE_NETS, dict(type="ResNetSimpleBaseline", depth="resnet18", pretrained=str(path)),
                "model.feature_net")
    assert torch.equal(net.trunk[0].weight, reference.conv1.weight)
    assert torch.equal(net.trunk[7][1].conv2.weight, reference.layer4[1].conv2.weight)
    with pytest.raises(ValueError, match="resnet18-imagenet.pth: not a torchvision ResNet state dict of this depth"):
        ResNetSimpleBaseline(depth="resnet50", pretrained=path)
    with pytest.raises(FileNotFoundError, match="nowhere.pth: ImageNet weights"):
        ResNetSimpleBaseline(depth="resnet18", pretrained=tmp_path / "nowhere.pth")


def test_refiner_fits_a_batch_of_its_taps():
    from opec.refiner import build_refiner, opec_loss

    torch.manual_seed(0)
    net = ResNetSimpleBaseline(depth="resnet18").eval()
    with torch.no_grad():
        taps = [t.contiguous(memory_format=torch.channels_last) for t in net(torch.randn(2, 3, 320, 256)).features]
    refiner = build_refiner(dict(type="OPECNet", point_head="integral", tap_channels=(256, 256, 256)))
    joints, target = torch.rand(2, 12, 3) * 2 - 1, torch.rand(2, 12, 3) * 2 - 1
    target[..., 2] = 1.0
    optimizer = torch.optim.Adam(refiner.parameters(), lr=1e-3)
    losses = []
    for _ in range(6):
        loss, _ = opec_loss(refiner(joints, taps), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.9 * losses[0]  # a tenth off in six Adam steps


@pytest.mark.slow
def test_refiner_trains_on_its_taps(tiny_data, tmp_path, make_config, model_source):
    import json

    from opec.config import load_config
    from opec.engine.trainer import Trainer

    resnet = "dict(type='ResNetSimpleBaseline', depth='resnet18', seed=0)"
    model = model_source(resnet).replace("hid_dim=128)", "hid_dim=128, tap_channels=(256, 256, 256))")
    cfg = make_config(tmp_path, tiny_data, model=model,
                      feature_cache="dict(storage='memory', dtype='float32', taps='first', batch_size=8)")
    torch.set_num_threads(1)
    history = Trainer(load_config(cfg), work_dir=tmp_path / "w", device="cpu", epochs=2).fit()
    assert [h[0] for h in history] == [0, 1] and all(0.0 <= h[1] <= 1.0 for h in history)
    rows = [json.loads(line) for line in (tmp_path / "w" / "log.jsonl").read_text().splitlines()]
    losses = [r["values"]["loss"] for r in rows if r["group"] == "train"]
    half = len(losses) // 2
    assert all(map(torch.isfinite, torch.tensor(losses)))
    assert sum(losses[half:]) / (len(losses) - half) < sum(losses[:half]) / half  # it learns
    state = torch.load(tmp_path / "w" / "1.pth", weights_only=True)
    assert state["feature_adaptation.conv16.weight"].shape[1] == 256  # built for the ResNet taps
