"""Refiner fixtures: the two reference-vector files of the original OPEC-Net heads.

Every size and setting (batch, joints, skeleton, widths, head type) is read from the files, so
another folder with the same layout but other seeds or batch sizes passes unchanged.
"""
from __future__ import annotations

import pytest
import torch

from tests.refiner.refiner_builders import VECTOR_FILES, build_reference_model


@pytest.fixture(scope="module", params=VECTOR_FILES)
def opec_vectors(request, vectors_dir):
    return torch.load(vectors_dir / request.param, weights_only=True)


@pytest.fixture(scope="module")
def reference_model(opec_vectors):
    return build_reference_model(opec_vectors)
