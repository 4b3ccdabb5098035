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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opec.config import ConfigError, load_config  # noqa: E402
from opec.runtime import retain_freed_memory  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Evaluate OPEC-Net checkpoints (AP without / with best match).")
    parser.add_argument("config", help="config file the checkpoints were trained with")
    parser.add_argument("--load-dir", help="checkpoint folder (default checkpoints/<config name>)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="every <epoch>.pth of the folder, in epoch order")
    which.add_argument("--checkpoint", help="one checkpoint file")
    parser.add_argument("--initial", action="store_true", help="also print the unrefined predictions' metrics")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
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
    from opec.data.annotations import DataError, read_predictions
    from opec.data.datasets import TestDataset
    from opec.engine.features import build_feature_net, sppe_extractor
    from opec.engine.testing import evaluate_protocol, refine_persons
    from opec.engine.trainer import build_cache, build_model, load_model_weights
    from opec.evaluation import EvaluationError, KeypointEvaluator
    from opec.refiner import CheckpointError

    try:
        cfg = load_config(args.config)
        load_dir = Path(args.load_dir or Path(cfg.get("work_root", "checkpoints")) / cfg.name)
        paths = checkpoints_to_test(args, load_dir)
        device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        test = cfg.test_data
        alpha = bool(cfg.sppe.get("fine_tune", False))
        # the training run's feature path, so that the numbers match its mAP.txt exactly
        cached = not alpha and (cfg.get("feature_cache") or {}).get("storage") is not None
        dataset = TestDataset(test.pred_json, test.img_dir, crops=not cached)
        best_match = read_predictions(test.best_json)
        evaluator = KeypointEvaluator(test.target_json, test.get("dataset", "crowdpose"), protocol="opec12",
                                      convention=test.get("convention", "official"))
        model = build_model(cfg, device)
        if alpha:
            model_input = lambda b: b["inps"].to(device)  # noqa: E731
        else:
            sppe_net = build_feature_net(dict(cfg.sppe), device)
            extractor = sppe_extractor(sppe_net)
            if cached:  # a disk cache of the training run is reused when it matches
                cache = build_cache(cfg, "test", dataset, [test.pred_json], sppe_net, load_dir, device)
                model_input = lambda b: cache.fetch(b["person_ids"], device)  # noqa: E731
            else:
                model_input = lambda b: extractor(b["inps"].to(device))  # noqa: E731
        if args.initial:
            plain, best = evaluate_protocol(evaluator, dataset, None, best_match)
            print("[initial predictions]")
            print(format_table({"without best match": plain, "best match": best}))
        for path in paths:
            load_model_weights(model, path)
            refined = refine_persons(model, dataset, model_input, device, int(test.get("batch_size", 60)),
                                     int(test.get("num_workers", 4)) if not cached else 0)
            plain, best = evaluate_protocol(evaluator, dataset, refined, best_match)
            print(f"[{path}] AP {plain['AP']:.4f} (without best match)  {best['AP']:.4f} (best match)")
            print(format_table({"without best match": plain, "best match": best}))
    except (ConfigError, DataError, EvaluationError, CheckpointError, OSError, ValueError) as exc:
        print(f"test: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
