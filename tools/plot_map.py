"""Plot a training run's mAP.txt (AP without / with best match per epoch) as a PNG.

Thin wrapper: the logic is opec/cli/plot_map.py, also installed as ``opec-plot-map``.
"""
from opec.cli.plot_map import main

if __name__ == "__main__":
    raise SystemExit(main())
