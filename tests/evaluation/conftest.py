"""Fixtures of the evaluation tests."""
from __future__ import annotations

import pytest
from tests.evaluation.eval_builders import write_gt


@pytest.fixture
def gt_writer(tmp_path):
    counter = iter(range(10_000))

    def write(dataset, images, annotations):
        return write_gt(tmp_path / f"gt_{next(counter)}.json", dataset, images, annotations)

    return write
