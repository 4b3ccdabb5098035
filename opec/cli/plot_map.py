"""Plot a training run's mAP.txt (AP without / with best match per epoch) as a PNG.

    python tools/plot_map.py checkpoints/opec_gcn_crowdpose/mAP.txt --out map_curve.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


from opec.cli.errors import EXIT_BAD_INPUT, output_folder_problem
from opec.visualization.curves import plot_map_curve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("map_txt", type=Path, help="mAP.txt written by training")
    parser.add_argument("--out", type=Path, default=None,
                        help="output PNG (default: map_curve.png next to mAP.txt)")
    parser.add_argument("--title", default=None, help="plot title (default: the run folder)")
    args = parser.parse_args(argv)
    out = args.out or args.map_txt.with_name("map_curve.png")
    problem = output_folder_problem(out.parent, "--out", out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        plot_map_curve(args.map_txt, out, title=args.title)
    except (ValueError, OSError) as exc:  # EvaluationError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {out}")
    return 0

