"""The engine tests' tiny data and config builders (tests/engine/conftest.py), for backbone tests."""
from tests.engine.conftest import make_config, model_source_fixture, tiny_data  # noqa: F401
