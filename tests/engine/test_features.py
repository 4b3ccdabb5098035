"""The frozen-feature cache: identical to computing the taps per batch (float32), bounded error in
float16, disk files reused for the same fingerprint, buffers reused between batches."""
import pytest
import torch

from opec.data.datasets import TrainDataset, collate_persons
from opec.engine.feature_sources import CachedFeatures, frozen_extractor
from opec.engine.features import FeatureCache
from tests.toy_feature_net import ToyFeatureNet


@pytest.fixture
def dataset(tiny_data):
    return TrainDataset([dict(json_file=tiny_data / "train_process_datasets/train_demo.json",
                              type="crowdpose", img_dir=tiny_data / "images")], crops=False)


def direct(dataset, extractor, ids):
    dataset.crops = True
    try:
        batch = collate_persons([dataset[i] for i in range(len(dataset))])
    finally:
        dataset.crops = False
    return [f[ids] for f in extractor(batch["inps"])]


def test_toy_net_tap_shapes():
    out = ToyFeatureNet(scale=2).eval()(torch.zeros(3, 3, 320, 256)).features
    assert [tuple(f.shape) for f in out] == [(3, 512, 10, 8), (3, 256, 20, 16), (3, 128, 40, 32)]


def test_float32_cache_equals_direct_extraction(dataset):
    extractor = frozen_extractor(ToyFeatureNet(scale=4))
    cache = FeatureCache.build(dataset, extractor, device="cpu", batch_size=3, num_workers=0)
    ids = torch.tensor([4, 0, dataset.num_persons - 1, 4])
    expected = direct(dataset, extractor, ids)
    got = cache.fetch(ids, "cpu")
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-6, atol=1e-6)
    # Handed out channels-last, the layout the refiner's decoder runs in.
    assert all(g.is_contiguous(memory_format=torch.channels_last) for g in got)
    first = got[0].data_ptr()
    again = cache.fetch(ids[:2], "cpu")  # a smaller batch reuses the same buffer
    assert again[0].data_ptr() == first
    assert cache.nbytes() == sum(f[0].numel() for f in expected) * 4 * dataset.num_persons


def test_float16_cache_error_is_bounded(dataset):
    extractor = frozen_extractor(ToyFeatureNet(scale=4))
    cache = FeatureCache.build(dataset, extractor, device="cpu", dtype="float16", batch_size=4, num_workers=0)
    ids = torch.arange(dataset.num_persons)
    for g, e in zip(cache.fetch(ids, "cpu"), direct(dataset, extractor, ids)):
        assert g.dtype == torch.float32
        # float16 keeps 11 significant bits: relative error <= 2^-11 (normal range)
        assert torch.all((g - e).abs() <= e.abs() * 2.0 ** -11 + 1e-7)


def test_disk_cache_is_reused_for_the_same_fingerprint(dataset, tmp_path):
    calls = []
    net = ToyFeatureNet(scale=4)

    def extractor(inps):
        calls.append(len(inps))
        with torch.no_grad():
            return net(inps).features

    path = tmp_path / "cache" / "train"
    path.parent.mkdir()
    a = FeatureCache.build(dataset, extractor, device="cpu", storage="disk", path=path,
                           fingerprint={"v": 1}, num_workers=0)
    n_calls = len(calls)
    b = FeatureCache.build(dataset, extractor, device="cpu", storage="disk", path=path,
                           fingerprint={"v": 1}, num_workers=0)
    assert len(calls) == n_calls + 1  # only the one-crop shape probe
    ids = torch.arange(dataset.num_persons)
    for x, y in zip(a.fetch(ids, "cpu"), b.fetch(ids, "cpu")):
        assert torch.equal(x, y)
    FeatureCache.build(dataset, extractor, device="cpu", storage="disk", path=path,
                       fingerprint={"v": 2}, num_workers=0)
    assert len(calls) > n_calls + 2  # another fingerprint recomputes


def test_bad_options():
    with pytest.raises(ValueError, match="storage"):
        FeatureCache.build(None, None, device="cpu", storage="ram")
    with pytest.raises(ValueError, match="dtype"):
        FeatureCache.build(None, None, device="cpu", dtype="int8")


def test_random_fastpose_depends_only_on_its_seed():
    from opec.registry import FEATURE_NETS, build

    def fastpose(seed):
        return build(FEATURE_NETS, dict(type="FastPose", weights=None, seed=seed), "model.feature_net").state_dict()

    a = fastpose(3)
    torch.rand(100)  # other use of the global generator in between must not matter
    b = fastpose(3)
    c = fastpose(4)
    key = next(k for k in a if k.endswith("conv1.weight"))
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a[key], c[key])


def test_disk_cache_refuses_when_the_disk_is_too_small(dataset, tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10, 10, 1000))
    with pytest.raises(OSError, match=r"feature cache needs .* GiB .*float16"):
        FeatureCache.build(dataset, frozen_extractor(ToyFeatureNet(scale=4)), device="cpu", storage="disk",
                           path=tmp_path / "c" / "train", fingerprint={}, num_workers=0)


class _FakeFastPose(torch.nn.Module):
    """FastPose's tap structure in miniature: tap0 from the image, tap1 = duc1(tap0), tap2 = duc2(tap1)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = torch.nn.Conv2d(3, 512, 1)
        self.duc1 = torch.nn.Sequential(torch.nn.Conv2d(512, 1024, 3, padding=1), torch.nn.ReLU(), torch.nn.PixelShuffle(2))
        self.duc2 = torch.nn.Sequential(torch.nn.Conv2d(256, 512, 3, padding=1), torch.nn.ReLU(), torch.nn.PixelShuffle(2))

    def forward(self, x):
        tap0 = torch.relu(self.stem(torch.nn.functional.avg_pool2d(x, 64)))
        return type("Out", (), {"features": self.expand_taps([tap0])})()

    def expand_taps(self, taps):
        tap1 = self.duc1(taps[0])
        return [taps[0], tap1, self.duc2(tap1)]


def test_first_tap_cache_recomputes_the_duc_layers(dataset, tmp_path):
    net = _FakeFastPose()
    extractor = frozen_extractor(net)
    cache = FeatureCache.build(dataset, extractor, device="cpu", batch_size=4, num_workers=0,
                               expand=net.expand_taps)
    assert len(cache.taps) == 1  # only tap 0 is stored
    ids = torch.tensor([3, 1])
    for g, e in zip(cache.fetch(ids, "cpu"), direct(dataset, extractor, ids)):
        torch.testing.assert_close(g, e, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="taps='first' needs a feature network with expand_taps"):
        CachedFeatures(ToyFeatureNet(), "cpu", tmp_path, identity={}, taps="first")
