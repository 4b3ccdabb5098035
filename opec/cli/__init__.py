"""The command-line tools: one module per tool, each with ``main(argv=None) -> int``.

Installed as console scripts ``opec-<tool>`` (pyproject.toml); ``tools/<tool>.py`` are thin
wrappers so that ``python tools/train.py ...``, ``train.sh`` and ``test.sh`` keep working.
"""
