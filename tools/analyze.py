"""Occlusion diagnosis report (``opec-analyze``); see opec/analysis/cli.py and docs/analysis.md.

    python tools/analyze.py --dataset crowdpose --gt GT.json --results refined.json \
        [--before initial.json] [--protocol official|opec12] [--images DIR] --out report/
"""
from opec.analysis.cli import main

raise SystemExit(main())
