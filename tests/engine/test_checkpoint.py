"""Atomic checkpoint writes, RNG state round trips, mAP.txt rewriting."""
import random

import numpy as np
import pytest
import torch

from opec.engine import checkpoint as ckpt
from opec.fileio import atomic_save


def test_atomic_save_replaces_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "a.pth"
    atomic_save({"x": torch.ones(2)}, path)
    atomic_save({"x": torch.zeros(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.zeros(2))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.pth"
    atomic_save({"x": torch.ones(2)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic_save({"bad": Unpicklable()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]


def test_rng_state_round_trip_through_a_weights_only_file(tmp_path):
    atomic_save({"rng": ckpt.rng_state()}, tmp_path / "s.pth")
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    ckpt.set_rng_state(torch.load(tmp_path / "s.pth", weights_only=True)["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


def test_load_state_names_the_file_and_missing_field(tmp_path):
    atomic_save({"model": {}}, tmp_path / "last.pth")
    with pytest.raises(RuntimeError, match=r"last\.pth.*optimizer"):
        ckpt.load_state(tmp_path / "last.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match=r"junk\.pth"):
        ckpt.load_state(tmp_path / "junk.pth")
