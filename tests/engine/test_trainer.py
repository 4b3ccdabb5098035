"""The training loop on tiny generated data with the toy feature net: outputs, determinism,
cached = uncached losses, resume equals an uninterrupted run, the Alpha variant, bad input."""
import json

import pytest
import torch

from opec.config import load_config
from opec.engine.trainer import Trainer
from opec.evaluation.map_file import read_map_file
from tests.toy_feature_net import ToyFeatureNet


def train_losses(work_dir):
    rows = [json.loads(line) for line in (work_dir / "log.jsonl").read_text().splitlines()]
    return [r["values"]["loss"] for r in rows if r["group"] == "train"]


def run(cfg_path, work_dir, **kw):
    torch.set_num_threads(1)
    return Trainer(load_config(cfg_path), work_dir=work_dir, device="cpu", **kw).fit()


def test_outputs_and_loss_sanity(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    history = run(cfg, tmp_path / "w")
    w = tmp_path / "w"
    assert [h[0] for h in read_map_file(w / "mAP.txt")] == [0, 1]
    assert read_map_file(w / "mAP.txt") == history
    for name in ("0.pth", "1.pth", "best_checkpoint.pth", "last.pth"):
        torch.load(w / name, weights_only=True)
    best_epoch = max(history, key=lambda h: h[1])[0]
    best = torch.load(w / "best_checkpoint.pth", weights_only=True)
    same = torch.load(w / f"{best_epoch}.pth", weights_only=True)
    assert all(torch.equal(best[k], same[k]) for k in best)
    losses = train_losses(w)
    assert len(losses) == 2 * 3  # 6 images, 2 per batch, 2 epochs
    assert all(torch.isfinite(torch.tensor(losses)))
    rows = [json.loads(line) for line in (w / "log.jsonl").read_text().splitlines()]
    lrs = [r["values"]["lr"] for r in rows if r["group"] == "train"]
    assert lrs[0] == pytest.approx(1e-5)  # warm-up start
    assert {r["group"] for r in rows} >= {"train", "eval", "initial"}


def test_same_seed_same_losses_and_cache_does_not_change_them(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data, schedule="dict(epochs=1, lr=1e-3, clip_grad_norm=1.0, "
                       "lr_schedule=dict(warmup_lr=1e-5, warmup_epochs=1, min_lr=1e-5))")
    uncached = make_config(tmp_path, tiny_data, name="uncached", feature_cache="None",
                            schedule="dict(epochs=1, lr=1e-3, clip_grad_norm=1.0, "
                            "lr_schedule=dict(warmup_lr=1e-5, warmup_epochs=1, min_lr=1e-5))")
    run(cfg, tmp_path / "a")
    run(cfg, tmp_path / "b")
    run(uncached, tmp_path / "c")
    a, b, c = (train_losses(tmp_path / x) for x in "abc")
    assert a == b
    assert c == pytest.approx(a, rel=1e-5, abs=1e-6)
    other = make_config(tmp_path, tiny_data, name="seed1", seed="1")
    run(other, tmp_path / "d", epochs=1)
    assert train_losses(tmp_path / "d") != a


class _Killed(Exception):
    pass


class _DiesAfterFirstEpoch(Trainer):
    def end_epoch(self, epoch):
        super().end_epoch(epoch)
        raise _Killed


def test_resume_continues_exactly(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    full = run(cfg, tmp_path / "full")
    torch.set_num_threads(1)
    with pytest.raises(_Killed):
        _DiesAfterFirstEpoch(load_config(cfg), work_dir=tmp_path / "part", device="cpu").fit()
    # a kill after the mAP line was appended but before last.pth was renamed leaves a stale line
    with open(tmp_path / "part" / "mAP.txt", "a") as fh:
        fh.write("1\t0.1\t0.1\n")
    resumed = run(cfg, tmp_path / "part")
    assert read_map_file(tmp_path / "part" / "mAP.txt") == resumed == full
    assert train_losses(tmp_path / "part") == train_losses(tmp_path / "full")


def test_resume_required_but_absent(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    with pytest.raises(FileNotFoundError, match="last.pth"):
        run(cfg, tmp_path / "none", resume="yes")


def test_fresh_run_truncates_an_old_map_file(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "mAP.txt").write_text("7\t0.1\t0.1\n")
    run(cfg, tmp_path / "w", epochs=1)
    assert [h[0] for h in read_map_file(tmp_path / "w" / "mAP.txt")] == [0]


def test_alpha_variant_trains_and_evaluates(tiny_data, tmp_path, make_config, model_source):
    cfg = make_config(tmp_path, tiny_data, model=model_source(fine_tune=True))
    history = run(cfg, tmp_path / "w", epochs=1)
    assert len(history) == 1 and 0.0 <= history[0][1] <= 1.0
    state = torch.load(tmp_path / "w" / "0.pth", weights_only=True)
    sppe_keys = [k for k in state if k.startswith("generator.model.pyranet.")]
    assert sppe_keys
    start = ToyFeatureNet(scale=4, seed=0).state_dict()
    assert any(not torch.equal(state["generator.model.pyranet." + k], v) for k, v in start.items())


def test_amp_on_cpu_is_refused_with_a_warning(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    with pytest.warns(UserWarning, match="CUDA"):
        trainer = Trainer(load_config(cfg), work_dir=tmp_path / "w", device="cpu", amp=True)
    assert trainer.amp is False


def test_checkpoints_in_the_original_layout_evaluate_the_same(tiny_data, tmp_path, make_config, tool, capsys):
    from opec.refiner.checkpoint import new_to_original_key

    cfg = make_config(tmp_path, tiny_data)
    history = run(cfg, tmp_path / "w", epochs=1)
    state = torch.load(tmp_path / "w" / "0.pth", weights_only=True)
    original = {new_to_original_key(k): v for k, v in state.items()}
    assert set(original) != set(state)  # really another layout
    torch.save(original, tmp_path / "original.pth")
    test = tool("test")
    capsys.readouterr()
    assert test.main([str(cfg), "--checkpoint", str(tmp_path / "original.pth"), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"AP {history[0][1]:.4f} (without best match)  {history[0][2]:.4f} (best match)" in out


def test_alpha_checkpoint_in_the_original_layout_loads(tiny_data, tmp_path, make_config, model_source):
    from opec.refiner import build_model
    from opec.refiner.checkpoint import new_to_original_key

    cfg = load_config(make_config(tmp_path, tiny_data, model=model_source(fine_tune=True)))
    trained = build_model(cfg.model)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(torch.randn_like(p))
    state = trained.state_dict()
    original = {(k if k.startswith("generator.") else new_to_original_key(k[len("refiner."):])): v
                for k, v in state.items()}
    fresh = build_model(cfg.model)
    fresh.load_checkpoint(original)
    assert all(torch.equal(v, fresh.state_dict()[k]) for k, v in state.items())


def test_disk_cache_run_and_test_reuse_it(tiny_data, tmp_path, make_config, tool, capsys):
    cfg = make_config(tmp_path, tiny_data, feature_cache="dict(storage='disk', dtype='float16', batch_size=8)")
    work = tmp_path / "fresh" / "w"  # parents created on demand
    history = run(cfg, work, epochs=1)
    assert (work / "feature_cache" / "train.json").is_file() and (work / "feature_cache" / "test.json").is_file()
    stamp = (work / "feature_cache" / "test.tap2.npy").stat().st_mtime_ns
    capsys.readouterr()
    assert tool("test").main([str(cfg), "--load-dir", str(work), "--device", "cpu"]) == 0
    assert f"AP {history[0][1]:.4f} (without best match)" in capsys.readouterr().out
    assert (work / "feature_cache" / "test.tap2.npy").stat().st_mtime_ns == stamp  # reused, not rewritten


def test_unreachable_visdom_warns_and_training_goes_on(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data, visdom="dict(server='http://127.0.0.1', port=1, env='t')")
    with pytest.warns(RuntimeWarning, match="not reachable"):
        history = run(cfg, tmp_path / "w", epochs=1)
    assert [h[0] for h in history] == [0]


def test_fc_head_trains_on_full_size_taps(tiny_data, tmp_path, make_config, model_source):
    cfg = make_config(tmp_path, tiny_data,
                      model=model_source("dict(type='ToyFeatureNet', scale=1, seed=0)", point_head="fc"))
    history = run(cfg, tmp_path / "w", epochs=1)
    assert len(history) == 1
    assert any(k.startswith("FC") or "fc" in k.lower() for k in torch.load(tmp_path / "w" / "0.pth", weights_only=True))
