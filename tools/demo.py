"""Run the whole system (YOLOv3 -> SPPE -> pose NMS -> OPEC-Net) on an image, a folder or a video.

Thin wrapper: the logic is opec/cli/demo.py, also installed as ``opec-demo``.
"""
from opec.cli.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
