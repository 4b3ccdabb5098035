"""Occlusion statistics of COCO-format keypoint GT files (the original README's table).

Thin wrapper: the logic is opec/cli/dataset_stats.py, also installed as ``opec-dataset-stats``.
"""
from opec.cli.dataset_stats import main

if __name__ == "__main__":
    raise SystemExit(main())
