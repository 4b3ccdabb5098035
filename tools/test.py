"""Evaluate trained OPEC-Net checkpoints with the original protocol (the original's ``test.sh``).

Thin wrapper: the logic is opec/cli/test.py, also installed as ``opec-test``.
"""
from opec.cli.test import main

if __name__ == "__main__":
    raise SystemExit(main())
