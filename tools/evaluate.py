"""Keypoint AP/AR of a results file, identical to the official evaluators.

Thin wrapper: the logic is opec/cli/evaluate.py, also installed as ``opec-evaluate``.
"""
from opec.cli.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
