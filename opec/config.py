"""Experiment configs: mmengine ``Config`` files whose experiment name is the file's stem.

The original configs set ``name = __name__``, which only equalled the file's basename under the
old mmcv loader; modern loaders import configs under a temporary module name. Here the name is
always the config file's stem (``configs/opec_gcn_crowdpose.py`` -> ``opec_gcn_crowdpose``), so
checkpoints land in ``checkpoints/<stem>/`` whatever the loader version.
"""
from __future__ import annotations

from pathlib import Path

from mmengine.config import Config


class ConfigError(ValueError):
    """A config file is missing, unreadable or lacks a required field."""


def load_config(path: str | Path) -> Config:
    """Load ``path`` (a Python config, ``_base_`` inheritance allowed) and set ``cfg.name``.

    ``lazy_import=False`` because the configs import ordinary modules (numpy) at the top level.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:  # mmengine reports syntax errors in its temporary copy: name the user's file and line
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except (OSError, ValueError) as exc:  # unreadable, or NUL bytes
        raise ConfigError(f"{path}: cannot read the config ({exc})") from None
    try:
        cfg = Config.fromfile(str(path), lazy_import=False)
    except Exception as exc:  # syntax errors, bad _base_ paths, ...
        raise ConfigError(f"{path}: cannot load config: {exc}") from exc
    if "sppe" in cfg:
        raise ConfigError(f"{path}: field 'sppe' is from the former config layout; the feature network is now "
                          "model.feature_net and fine-tuning model.fine_tune (docs/architecture.md)")
    cfg.name = path.stem
    return cfg
