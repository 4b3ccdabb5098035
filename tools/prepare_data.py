"""Make OPEC-Net's processed annotations from a COCO-format keypoint dataset.

Thin wrapper: the logic is opec/cli/prepare_data.py, also installed as ``opec-prepare-data``.
"""
from opec.cli.prepare_data import main

if __name__ == "__main__":
    raise SystemExit(main())
