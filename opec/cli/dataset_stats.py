"""Occlusion statistics of COCO-format keypoint GT files (the original README's table).

    python tools/dataset_stats.py data/crowdpose/json/crowdpose_test.json --hist stats.png

For each image: the largest bounding-box IoU between two annotated persons (iscrowd excluded
unless --include-crowd; see opec/stats.py and docs/visualization.md). Prints a Markdown table:
Total, images with largest IoU > 0.3 / 0.5 / 0.75 (count and share), mean largest IoU.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


from opec.cli.errors import EXIT_BAD_INPUT, output_folder_problem
from opec.stats import (
    StatsError,
    load_gt,
    markdown_table,
    occlusion_stats,
    plot_histogram,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("gt", nargs="+", type=Path, help="COCO-format keypoint GT json file(s)")
    parser.add_argument("--name", action="append", default=None,
                        help="row name per GT file (default: the file name without .json)")
    parser.add_argument("--include-crowd", action="store_true",
                        help="also count annotations with iscrowd=1")
    parser.add_argument("--hist", type=Path, default=None,
                        help="write a histogram PNG of the per-image largest IoU (one GT file)")
    args = parser.parse_args(argv)
    problem = output_folder_problem(args.hist.parent if args.hist is not None else None, "--hist", args.hist)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.name is not None and len(args.name) != len(args.gt):
        parser.error(f"--name given {len(args.name)} times for {len(args.gt)} GT files")
    if args.hist is not None and len(args.gt) != 1:
        parser.error("--hist needs exactly one GT file")
    names = args.name or [p.stem for p in args.gt]
    try:
        rows = [occlusion_stats(load_gt(path), name=name, source=str(path),
                                include_crowd=args.include_crowd)
                for path, name in zip(args.gt, names)]
        print(markdown_table(rows))
        if args.hist is not None:
            plot_histogram(rows[0], args.hist)
            print(f"histogram written to {args.hist}", file=sys.stderr)
    except (StatsError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0

