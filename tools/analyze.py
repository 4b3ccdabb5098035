"""Occlusion diagnosis report (docs/analysis.md).

Thin wrapper: the logic is opec/cli/analyze.py, also installed as ``opec-analyze``.
"""
from opec.cli.analyze import main

if __name__ == "__main__":
    raise SystemExit(main())
