"""Draw poses from a results JSON (or the ground truth) onto images; optionally before/after.

Thin wrapper: the logic is opec/cli/visualize.py, also installed as ``opec-visualize``.
"""
from opec.cli.visualize import main

if __name__ == "__main__":
    raise SystemExit(main())
