"""Train OPEC-Net from a config (the original's ``train.sh BATCH CONFIG``).

Thin wrapper: the logic is opec/cli/train.py, also installed as ``opec-train``.
"""
from opec.cli.train import main

if __name__ == "__main__":
    raise SystemExit(main())
