"""Training throughput: persons/s of the training loop, as a ratio to this process's GFLOP/s.

Runs two epochs (the first as warm-up, the second timed) of the real training loop
(``opec.engine.trainer.Trainer``, FastPose SPPE with random weights at 320x256, the chosen refiner
head) on synthetic data from tools/make_demo_data.py in two ways and checks they compute the same
losses:

  uncached  the original's path: crops loaded by workers, frozen SPPE forward every batch
  cached    the SPPE taps computed once (batched) and fetched by person id into reused buffers

The number to report is the cached path's speed-up over the uncached one, both timed in this run.
Each path's persons/s is also shown per GFLOP/s of a 4096x4096 float32 ``torch.mm`` timed at the
start; that ratio depends on the CPU kind (its mm peak) and only compares runs on one machine.
``--fp16`` also measures the float16 cache: the largest relative feature error and the loss
difference it causes.

    python benchmarks/train_speed.py [--images 24] [--head integral|fc] [--device cpu|cuda] [--fp16] [--first-tap]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from opec.cli.make_demo_data import generate as generate_demo_data

from common import add_system_malloc_flag, configure_malloc, demo_data_config, model_config  # benchmarks/common.py

def mm_gflops(device: torch.device, size: int = 4096, repeats: int = 5) -> float:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    torch.mm(a, b)
    _sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.mm(a, b)
    _sync(device)
    return 2 * size ** 3 * repeats / (time.perf_counter() - start) / 1e9


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_config(folder: Path, data: Path, head: str, cache: str, batch: int, workers: int) -> Path:
    text = demo_data_config(data, model_config("dict(type='FastPose', weights=None)", head), batch_images=batch,
                            epochs=2, feature_cache=cache, workers=workers)
    name = "bench_" + ("uncached" if cache == "None" else "cached_" + ("fp16" if "float16" in cache else "fp32")
                       + ("_tap0" if "first" in cache else ""))
    path = folder / f"{name}.py"
    path.write_text(text)
    return path


def run_epoch(cfg_path: Path, work: Path, device: str):
    """Set up a Trainer, run epoch 0 (warm-up: allocations, kernel selection), time epoch 1.

    Returns (result dict: persons, seconds, persons/s, set-up seconds, losses of both epochs; trainer).
    """
    from opec.config import load_config
    from opec.engine.trainer import Trainer

    trainer = Trainer(load_config(cfg_path), work_dir=work, resume="no", device=device)
    start = time.perf_counter()
    trainer.setup()
    setup = time.perf_counter() - start
    trainer.train_one_epoch(0)
    _sync(trainer.device)
    start = time.perf_counter()
    trainer.train_one_epoch(1)
    _sync(trainer.device)
    elapsed = time.perf_counter() - start
    trainer.loggers.close()
    rows = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    train = [r["values"] for r in rows if r["group"] == "train"]
    timed = train[len(train) // 2:]
    persons = sum(r["persons"] for r in timed)
    per_step = sorted(r["persons"] / r["batch_time"] for r in timed)
    return {"persons": persons, "seconds": elapsed, "persons_per_s": persons / elapsed, "setup_s": setup,
            "median_step_persons_per_s": per_step[len(per_step) // 2],
            "losses": [r["loss"] for r in train]}, trainer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=24, help="training images (about 3.5 persons each)")
    parser.add_argument("--batch-images", type=int, default=4)
    parser.add_argument("--head", choices=("integral", "fc"), default="integral")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fp16", action="store_true", help="also measure the float16 cache")
    parser.add_argument("--first-tap", action="store_true", help="also measure the tap0-only cache (DUC recomputed)")
    parser.add_argument("--skip-uncached", action="store_true", help="only the cached path")
    add_system_malloc_flag(parser)
    args = parser.parse_args(argv)
    malloc = configure_malloc(args.system_malloc)
    device = torch.device(args.device)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        generate_demo_data(tmp / "data", train_images=args.images, test_images=2, seed=0)
        gflops = mm_gflops(device)
        print(f"device {device}, torch {torch.__version__}, malloc: {malloc}, threads {torch.get_num_threads()}: "
              f"4096^2 fp32 mm {gflops:.1f} GFLOP/s")
        variants = [("cached fp32", "dict(storage='memory', dtype='float32', batch_size=32)")]
        if args.fp16:
            variants.append(("cached fp16", "dict(storage='memory', dtype='float16', batch_size=32)"))
        if args.first_tap:
            variants.append(("cached tap0-only fp16",
                             "dict(storage='memory', dtype='float16', taps='first', batch_size=32)"))
        if not args.skip_uncached:
            variants.insert(0, ("uncached (original path)", "None"))
        results, trainers = {}, {}
        for label, cache in variants:
            cfg = write_config(tmp, tmp / "data", args.head, cache, args.batch_images, args.workers)
            res, trainers[label] = run_epoch(cfg, tmp / label.replace(" ", "_"), args.device)
            results[label] = res
            ratio = res["persons_per_s"] / gflops
            print(f"{label:26s} {res['persons']:.0f} persons in {res['seconds']:.1f} s: "
                  f"{res['persons_per_s']:.2f} persons/s = {ratio:.4f} persons/s per mm GFLOP/s; "
                  f"median step {res['median_step_persons_per_s']:.2f} persons/s; "
                  f"set-up incl. feature cache {res['setup_s']:.1f} s")
        base = results["cached fp32"]["losses"]
        for label, res in results.items():
            if label == "cached fp32":
                continue
            diffs = [abs(a - b) for a, b in zip(res["losses"], base)]
            print(f"|loss({label}) - loss(cached fp32)|: first step {diffs[0]:.2e}, max over {len(base)} "
                  f"steps {max(diffs):.2e} (batched convolutions differ by ~5e-7 relative between batch "
                  f"sizes; Adam lets such differences grow over steps)")
        if "cached fp16" in trainers:
            for t, (a, b) in enumerate(zip(trainers["cached fp32"].train_cache.taps,
                                           trainers["cached fp16"].train_cache.taps)):
                err = ((b.float() - a).abs() / a.abs().clamp_min(1e-30))[a.abs() > 6.1e-5].max()
                print(f"float16 cache, tap {t}: max relative error {float(err):.2e} (values >= 2^-14), "
                      f"max absolute error {float((b.float() - a).abs().max()):.2e}")
        if "uncached (original path)" in results:
            speedup = results["cached fp32"]["persons_per_s"] / results["uncached (original path)"]["persons_per_s"]
            print(f"cached / uncached speed-up: {speedup:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
