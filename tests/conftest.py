"""Shared test helpers: locating the reference material in ``../shared``.

``../shared`` is resolved from the repository root, not the working directory. When a folder is
absent the test skips with the reason -- a user's fresh clone has no ``../shared`` -- except under
``CI=true``, where it fails: CI always has the folder, and a silent skip would hide a broken path.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_dir(path: Path, what: str) -> Path:
    """Return ``path`` if it is a directory; otherwise skip (fail under CI) naming ``what``."""
    if path.is_dir():
        return path
    message = f"{what} not found at {path}"
    if _in_ci():
        pytest.fail(f"{message} (CI=true: reference data must be present)")
    pytest.skip(message)


def _from_env(variable: str, default: Path) -> Path:
    value = os.environ.get(variable)
    return Path(value).resolve() if value else default


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    return require_dir(SHARED_DIR, "the shared reference folder (../shared)")


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """Reference vectors of the original implementation (``OPEC_VECTORS_DIR`` overrides)."""
    return require_dir(_from_env("OPEC_VECTORS_DIR", SHARED_DIR / "vectors"), "reference vectors")


@pytest.fixture(scope="session")
def eval_cases_dir() -> Path:
    """Evaluation reference cases (``OPEC_EVAL_CASES_DIR`` overrides); paths inside are
    relative to the folder's parent."""
    return require_dir(_from_env("OPEC_EVAL_CASES_DIR", SHARED_DIR / "eval"), "evaluation cases")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Real images with keypoint ground truth (mmpose test data, CrowdPose val annotations)."""
    return require_dir(SHARED_DIR / "fixtures", "image fixtures")


@pytest.fixture(autouse=True)
def _restore_torch_globals():
    """Tests may set torch's thread count or default dtype: restored after each, whatever happens."""
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` skip, with the reason "no CUDA device", where torch sees no GPU (they
    are never counted as passed there); ``bash run_tests.sh -m cuda`` selects exactly them."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def no_tf32():
    """CUDA matmuls and convolutions in full float32 (TF32 off) for the test, restored whatever happens."""
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def browser_unavailable(reason: str):
    """Skip a browser test with ``reason``; fail instead where CI demands the browser tests
    (``CI=true`` and ``OPEC_REQUIRE_BROWSER=1``, as .ci/run's browser step sets)."""
    if _in_ci() and os.environ.get("OPEC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (CI=true and OPEC_REQUIRE_BROWSER=1: the browser test must run)")
    pytest.skip(reason)


@pytest.fixture
def chromium() -> str:
    """The headless Chromium executable (``OPEC_CHROMIUM`` overrides)."""
    for name in (os.environ.get("OPEC_CHROMIUM"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    browser_unavailable("headless Chromium not installed (apt-get install chromium)")
