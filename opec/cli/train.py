"""Train OPEC-Net from a config (the original's ``train.sh BATCH CONFIG``).

    python tools/train.py CONFIG [--batch N] [--epochs E] [--lr LR] [--seed S] [--amp [bf16]]
                                 [--work-dir DIR] [--resume | --no-resume] [--device cpu|cuda]
                                 [--visdom HOST[:PORT]] [--tensorboard]

Checkpoints, ``mAP.txt``, ``log.jsonl`` and before/after images go to ``checkpoints/<config name>/``
(or ``--work-dir``). A folder holding ``last.pth`` is resumed automatically. Under ``torchrun`` each
process trains on its share of the images (``--batch`` images per process per step).

Every input (config and command-line values, data files, device, work dir, resume state) is checked
before any feature is computed (``opec/engine/preflight.py``): bad input gives one line on stderr and
exit code 2. A resumed run says so; re-running a finished run says so and exits at once.
"""
from __future__ import annotations

import argparse
import shutil
import sys


from opec.cli.errors import EXIT_BAD_INPUT, one_line
from opec.config import ConfigError, load_config
from opec.runtime import retain_freed_memory


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train OPEC-Net (refiner) from a config.")
    parser.add_argument("config", help="config file, e.g. configs/OPEC_GCN_CrowdPose_Test.py")
    parser.add_argument("--batch", type=int, help="images per batch and process (config: train_data.batch_images)")
    parser.add_argument("--epochs", type=int, help="number of epochs (config: schedule.epochs)")
    parser.add_argument("--lr", type=float, help="peak learning rate (config: schedule.lr)")
    parser.add_argument("--seed", type=int, help="random seed (config: seed)")
    parser.add_argument("--amp", nargs="?", const="float16", default=None, choices=("float16", "fp16", "bfloat16", "bf16"),
                        help="mixed precision: --amp = float16 with gradient scaling (CUDA); --amp bf16 = "
                             "bfloat16 (CUDA or CPU); config: amp")
    parser.add_argument("--work-dir", help="output folder (default checkpoints/<config name>)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    parser.add_argument("--visdom", metavar="HOST[:PORT]",
                        help="send the dashboard to this visdom server (tools/visdom_server.py); config: visdom")
    parser.add_argument("--tensorboard", action="store_true", default=None, help="also write TensorBoard logs")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_const", const="yes", dest="resume",
                       help="continue from <work dir>/last.pth (error if absent)")
    group.add_argument("--no-resume", action="store_const", const="no", dest="resume",
                       help="start afresh even when last.pth exists")
    parser.set_defaults(resume="auto")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    retain_freed_memory()  # large tensors are re-allocated every step: keep their pages (opec/runtime.py)
    from opec.data.annotations import DataError
    from opec.engine import distributed as dist_utils
    from opec.engine.preflight import PreflightError, check_training_run, main_process
    from opec.engine.trainer import Trainer
    from opec.evaluation import EvaluationError
    from opec.refiner import CheckpointError

    try:
        cfg = load_config(args.config)
        if args.visdom:
            from opec.engine.loggers import parse_visdom_url
            cfg.visdom = parse_visdom_url(args.visdom, env=cfg.name)
        if args.tensorboard:
            cfg.tensorboard = True
        # Every input is checked before the Trainer computes any feature (opec/engine/preflight.py).
        plan = check_training_run(cfg, work_dir=args.work_dir, resume=args.resume, batch_images=args.batch,
                                  epochs=args.epochs, lr=args.lr, device=args.device)
    except (ConfigError, PreflightError, ValueError) as exc:
        print(f"train: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if plan.finished:
        if main_process():
            print(f"[done] {plan.work_dir}: all {plan.epochs} epochs are trained ({plan.resume_from}); nothing "
                  "to do (--epochs N trains longer, --no-resume starts afresh)")
        return 0
    if plan.resume_from is not None and main_process():
        print(f"resuming from {plan.resume_from}: epoch {plan.start_epoch} of {plan.epochs} "
              f"({plan.start_epoch} done)", flush=True)
    try:
        trainer = Trainer(cfg, work_dir=args.work_dir, resume=args.resume, batch_images=args.batch,
                          epochs=args.epochs, lr=args.lr, seed=args.seed, amp=args.amp, device=args.device)
        history = trainer.fit()
        main_process_done = dist_utils.is_main()
    except (ConfigError, DataError, EvaluationError, CheckpointError, OSError, ValueError) as exc:
        # e.g. an image that exists but cannot be decoded, found while the features are computed
        where = "" if dist_utils.is_main() else f" (rank {dist_utils.rank()})"
        print(f"train{where}: {one_line(exc)}", file=sys.stderr)
        if plan.created_work_dir and dist_utils.is_main():  # no partial output of a run that never got going
            shutil.rmtree(plan.work_dir, ignore_errors=True)
        return EXIT_BAD_INPUT
    finally:
        dist_utils.shutdown()
    if main_process_done and history:
        best = max(history, key=lambda h: h[1])
        print(f"[done] {trainer.work_dir}: best epoch {best[0]} AP {best[1]:.4f} "
              f"(best match {best[2]:.4f}); mAP.txt, log.jsonl, images/ and *.pth are there")
    return 0

