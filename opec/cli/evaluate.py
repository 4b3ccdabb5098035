"""Keypoint AP/AR of a results file, identical to the official evaluators.

    python tools/evaluate.py --dataset {crowdpose,coco,ochuman,ocpose} --gt GT.json \
        --results RESULTS.json [--protocol official|opec12] [--convention official|xtcocotools] \
        [--out metrics.json] [--no-easy-medium-hard]

Prints a table; ``--out`` writes the metrics as JSON (written to a temporary file in the same
folder, then renamed, so an error never leaves a partial file). Bad input gives one line naming
the file and field on stderr and exit code 2. Rules: docs/evaluation.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opec.cli.errors import EXIT_BAD_INPUT
from opec.evaluation import CONVENTIONS, DATASETS, PROTOCOLS, EvaluationError, KeypointEvaluator
from opec.fileio import atomic_write_json


def format_table(metrics: dict[str, float], title: str) -> str:
    """Metrics as an aligned two-column text table (values to 4 decimals; -1 = no GT)."""
    width = max(len("metric"), *(len(key) for key in metrics))
    lines = [title, f"{'metric':<{width}}  value", f"{'-' * width}  ------"]
    lines += [f"{key:<{width}}  {value:.4f}" for key, value in metrics.items()]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Keypoint AP/AR identical to the official CrowdPose / COCO "
                                                 "evaluators (see docs/evaluation.md).")
    parser.add_argument("--dataset", required=True, choices=DATASETS,
                        help="crowdpose/ocpose: 14 joints, OKS scale 0.53*w*h of the GT box; "
                             "coco/ochuman: 17 joints, stored area")
    parser.add_argument("--gt", required=True, type=Path, help="COCO-format ground-truth JSON")
    parser.add_argument("--results", required=True, type=Path, help="results JSON (list of person results)")
    parser.add_argument("--protocol", default="official", choices=PROTOCOLS,
                        help="official (default) or opec12: the OPEC-Net paper's OKS over the 12 body joints")
    parser.add_argument("--convention", default="official", choices=CONVENTIONS,
                        help="official (default: the CrowdPose API / pycocotools) or xtcocotools: mmpose's "
                             "evaluator, for comparing with mmpose's published numbers")
    parser.add_argument("--out", type=Path, help="write the metrics to this JSON file")
    parser.add_argument("--no-easy-medium-hard", dest="easy_medium_hard", action="store_false",
                        help="omit AP_easy/medium/hard (needed for a crowdpose GT without images[].crowdIndex)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.out is not None and not args.out.parent.is_dir():
            raise EvaluationError(f"{args.out}: --out: folder {args.out.parent} does not exist")
        evaluator = KeypointEvaluator(args.gt, args.dataset, args.protocol, easy_medium_hard=args.easy_medium_hard,
                                      convention=args.convention)
        metrics, per_threshold = evaluator.evaluate_detailed(args.results)
        if args.out is not None:
            atomic_write_json(args.out, metrics, indent=2)
    except EvaluationError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:  # e.g. --out not writable
        print(f"error: {err.filename or args.out}: {err.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    convention = "" if args.convention == "official" else f", {args.convention} convention"
    print(format_table(metrics, f"{args.dataset} ({args.protocol} protocol{convention}): {args.results} vs {args.gt}"))
    print("AP per OKS threshold: " + "  ".join(f"{oks} {ap:.4f}" for oks, ap in per_threshold.items()))
    if args.out is not None:
        print(f"wrote {args.out}")
    return 0

