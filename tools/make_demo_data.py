"""Generate the demo's small synthetic crowd-pose dataset (a few MB, seconds on a CPU).

Thin wrapper: the logic is opec/cli/make_demo_data.py, also installed as ``opec-make-demo-data``.
"""
from opec.cli.make_demo_data import main

if __name__ == "__main__":
    raise SystemExit(main())
