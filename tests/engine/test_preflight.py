"""Training checks its inputs before any heavy work: the order is proved with spies on the feature
extractor builders (nothing is timed), plus the resume announcement and finished-run detection."""
from __future__ import annotations

import pytest
import torch

from opec.cli import train as train_cli
from opec.engine import feature_sources, features


class FeatureWorkStarted(Exception):
    """Raised by the spies: the run reached the feature extractor."""


@pytest.fixture
def spies(monkeypatch):
    calls = []

    def spy(name):
        def called(*args, **kwargs):
            calls.append(name)
            raise FeatureWorkStarted(name)
        return called

    monkeypatch.setattr(feature_sources, "frozen_extractor", spy("frozen_extractor"))
    monkeypatch.setattr(features.FeatureCache, "build", spy("FeatureCache.build"))
    return calls


def _one_error_line(capsys, args) -> str:
    capsys.readouterr()
    assert train_cli.main([str(a) for a in args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_bad_inputs_fail_before_the_feature_extractor(tiny_data, tmp_path, make_config, spies, capsys):
    cfg = make_config(tmp_path, tiny_data)
    base = [cfg, "--device", "cpu"]
    # control: good input does reach the extractor (so the spies can see it)
    with pytest.raises(FeatureWorkStarted):
        train_cli.main([str(a) for a in [*base, "--work-dir", tmp_path / "ok"]])
    assert spies
    spies.clear()

    assert "--lr" in _one_error_line(capsys, [*base, "--work-dir", tmp_path / "a", "--lr", "nan"])
    assert "last.pth" in _one_error_line(capsys, [*base, "--work-dir", tmp_path / "b", "--resume"])
    from opec.config import load_config
    from opec.refiner import build_model
    from tests.engine.conftest import model_source

    other = make_config(tmp_path, tiny_data, name="other", model=model_source().replace("hid_dim=128", "hid_dim=64"))
    state = build_model(load_config(other).model).checkpoint_state()
    (tmp_path / "c").mkdir()
    torch.save({"model": state, "optimizer": {}, "next_epoch": 1, "best_ap": 0.0, "history": [], "rng": {}},
               tmp_path / "c" / "last.pth")
    line = _one_error_line(capsys, [*base, "--work-dir", tmp_path / "c"])
    assert "last.pth" in line and "shape" in line
    assert spies == []


def test_resume_is_announced_and_a_finished_run_is_not_recomputed(tiny_data, tmp_path, make_config, capsys,
                                                                  monkeypatch):
    cfg = make_config(tmp_path, tiny_data)
    work = tmp_path / "w"
    args = [str(cfg), "--device", "cpu", "--work-dir", str(work)]
    assert train_cli.main([*args, "--epochs", "1"]) == 0
    assert train_cli.main([*args, "--epochs", "2"]) == 0
    assert "resuming from" in capsys.readouterr().out
    calls = []
    monkeypatch.setattr(features.FeatureCache, "build", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(feature_sources, "frozen_extractor", lambda *a, **k: calls.append(1))
    assert train_cli.main([*args, "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "all 2 epochs are trained" in out and calls == []
