"""Atomic checkpoint writes, RNG state round trips, mAP.txt rewriting."""
import random

import numpy as np
import pytest
import torch

from opec.engine import checkpoint as ckpt
from opec.evaluation.protocol import read_map_file


def test_atomic_save_replaces_and_leaves_no_temporaries(tmp_path):
    path = tmp_path / "a.pth"
    ckpt.atomic_save({"x": torch.ones(2)}, path)
    ckpt.atomic_save({"x": torch.zeros(2)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.zeros(2))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.pth"
    ckpt.atomic_save({"x": torch.ones(2)}, path)

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        ckpt.atomic_save({"bad": Unpicklable()}, path)
    assert torch.equal(torch.load(path, weights_only=True)["x"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["a.pth"]


def test_rng_state_round_trip_through_a_weights_only_file(tmp_path):
    ckpt.atomic_save({"rng": ckpt.rng_state()}, tmp_path / "s.pth")
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))
    ckpt.set_rng_state(torch.load(tmp_path / "s.pth", weights_only=True)["rng"])
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected


def test_rewrite_map_file_matches_the_append_format(tmp_path):
    path = tmp_path / "mAP.txt"
    path.write_text("0\t0.5\t0.6\n1\t0.7\t0.8\n5\t0.1\t0.1\n")  # stale line of an unfinished epoch
    ckpt.rewrite_map_file(path, [(0, 0.5, 0.6), (1, 0.7, 0.8)])
    assert read_map_file(path) == [(0, 0.5, 0.6), (1, 0.7, 0.8)]


def test_load_state_names_the_file_and_missing_field(tmp_path):
    ckpt.atomic_save({"model": {}}, tmp_path / "last.pth")
    with pytest.raises(RuntimeError, match=r"last\.pth.*optimizer"):
        ckpt.load_state(tmp_path / "last.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match=r"junk\.pth"):
        ckpt.load_state(tmp_path / "junk.pth")
