"""Evaluate trained OPEC-Net checkpoints with the original protocol (the original's ``test.sh``).

    python tools/test.py CONFIG --load-dir DIR [--all | --checkpoint FILE] [--initial] [--device D]

Evaluates ``DIR/best_checkpoint.pth`` (or every ``DIR/<epoch>.pth`` with ``--all``, or one file
with ``--checkpoint``) on the config's test data only -- unlike the original, no training data is
needed -- and prints AP without / with best match plus the full metric set. Checkpoints written by
the original code load too (their key names are mapped). ``--initial`` adds the unrefined
predictions' numbers.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


from opec.cli.errors import EXIT_BAD_INPUT, one_line
from opec.config import ConfigError, load_config
from opec.runtime import retain_freed_memory


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Evaluate OPEC-Net checkpoints (AP without / with best match).")
    parser.add_argument("config", help="config file the checkpoints were trained with")
    parser.add_argument("--load-dir", help="checkpoint folder (default checkpoints/<config name>)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every <epoch>.pth of the folder, in epoch order")
    which.add_argument("--checkpoint", help="one checkpoint file")
    parser.add_argument("--initial", action="store_true", help="also print the unrefined predictions' metrics")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    parser.add_argument("--save-predictions", metavar="DIR", type=Path,
                        help="write the scored results lists (without / with best match) as JSON into DIR, "
                             "for opec-analyze")
    return parser.parse_args(argv)


def checkpoints_to_test(args, load_dir: Path) -> list[Path]:
    if args.checkpoint:
        paths = [Path(args.checkpoint)]
    elif args.all:
        paths = sorted((p for p in load_dir.glob("*.pth") if re.fullmatch(r"\d+", p.stem)), key=lambda p: int(p.stem))
        if not paths:
            raise FileNotFoundError(f"{load_dir}: no <epoch>.pth checkpoints")
    else:
        paths = [load_dir / "best_checkpoint.pth"]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"{p}: checkpoint not found")
    return paths


def save_predictions(folder: Path, name: str, plain: list[dict], best: list[dict]) -> None:
    """``<folder>/<name>_plain.json`` and ``<name>_best_match.json`` (results files, atomic)."""
    from opec.fileio import atomic_write_json

    atomic_write_json(folder / f"{name}_plain.json", plain)
    atomic_write_json(folder / f"{name}_best_match.json", best)


def format_table(columns: dict[str, dict]) -> str:
    """Metric rows x named columns, e.g. {'without best match': {...}, 'best match': {...}}."""
    names = list(columns)
    keys = [k for k in next(iter(columns.values()))]
    width = max(len(n) for n in names) + 2
    lines = ["metric".ljust(10) + "".join(n.rjust(width) for n in names)]
    for k in keys:
        lines.append(k.ljust(10) + "".join(f"{columns[n][k]:.4f}".rjust(width) for n in names))
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    retain_freed_memory()  # large tensors are re-allocated every step: keep their pages (opec/runtime.py)
    import torch
    from opec.data.annotations import DataError
    from opec.engine.tester import ProtocolTester
    from opec.evaluation import EvaluationError
    from opec.refiner import CheckpointError

    try:
        cfg = load_config(args.config)
        load_dir = Path(args.load_dir or Path(cfg.get("work_root", "checkpoints")) / cfg.name)
        paths = checkpoints_to_test(args, load_dir)
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        tester = ProtocolTester(cfg, device, cache_dir=load_dir)
        if args.initial:
            plain, best = tester.initial()
            print("[initial predictions]")
            print(format_table({"without best match": plain, "best match": best}))
        if args.save_predictions is not None:
            save_predictions(args.save_predictions, "initial", *tester.results(None))
        for path in paths:
            refined = tester.refine(path)
            if args.save_predictions is not None:
                save_predictions(args.save_predictions, path.stem, *tester.results(refined))
            plain, best = tester.scores(refined)
            print(f"[{path}] AP {plain['AP']:.4f} (without best match)  {best['AP']:.4f} (best match)")
            print(format_table({"without best match": plain, "best match": best}))
    except (ConfigError, DataError, EvaluationError, CheckpointError, OSError, ValueError) as exc:
        print(f"test: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0

