"""Scaling of training with the data size, on the CPU: set-up, feature-cache build, disk per person,
epoch time and memory at 1x, 4x and 16x a base data size, and the linear extrapolation to the
original's CrowdPose training set.

    python benchmarks/scale.py [--base-images 10] [--factors 1 4 16] [--system-malloc]

For each size, tools/make_demo_data.py writes processed training data in the real file format
(synthetic 320x240 scenes of 3-4 persons), and a fresh Python process (so that memory numbers are
its own; with tools/train.py's allocator setting unless ``--system-malloc``) runs ``Trainer.setup`` and one training epoch (``train_one_epoch``; the per-epoch test-set
evaluation is not included) with the disk feature cache (``storage='disk', dtype='float16'``, all
three taps). The SPPE is the stand-in ``ToyFeatureNet`` at scale 1: its taps have FastPose's shapes
(so the cache's disk bytes per person and the refiner's work are the real ones), but it costs far
less than FastPose's 32 GFLOP per person; FastPose's cache-build rate is a row of benchmarks/gpu.py.

Reported per size: persons; set-up time without the cache (reading and validating the annotation
files and images, building the model); the training cache's build time; its disk bytes per person;
the epoch time; peak resident memory (``ru_maxrss`` of the process and its loader workers: includes
the cache file's pages the kernel keeps mapped, which it drops under memory pressure) and peak
anonymous memory (sampled from /proc every 20 ms: the process's own memory, which must stay flat
with disk storage), after the set-up and over the whole run. Peak memory depends on the largest
batch: the cache build's (``batch_size`` = 32 persons, so the base size holds more than that) and the
largest training step's (4 images of 3-4 persons: the table shows it). With tools/train.py's
``retain_freed_memory`` (opec/runtime.py: no trimming, no mmap for large blocks) freed blocks stay in
the heap and fragment, so the anonymous memory also grows with the number of steps;
``--system-malloc`` measures with glibc's default allocator, where it does not.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import (  # benchmarks/common.py
    REPO, STAND_IN_FEATURE_NET, STAND_IN_IMPORTS, add_system_malloc_flag, configure_malloc, demo_data_config,
    model_config,
)

# The original's CrowdPose training split: CrowdPose has 20,000 images with about 80,000 persons,
# split train:val:test = 5:1:4, so about 40,000 training persons (the original also trains on the
# unpublished-size COCO subset coco_pose_45.json, not counted). See benchmarks/gpu.py.
CROWDPOSE_TRAIN_PERSONS = 40_000
BATCH_IMAGES = 4


def write_config(folder: Path, data: Path) -> Path:
    path = folder / "scale.py"
    path.write_text(STAND_IN_IMPORTS + demo_data_config(
        data, model_config(STAND_IN_FEATURE_NET), batch_images=BATCH_IMAGES, epochs=1,
        feature_cache="dict(storage='disk', dtype='float16', taps='all', batch_size=32)"))
    return path


class AnonPeak:
    """Peak of RssAnon (/proc/self/status, kB) sampled every ``interval`` seconds in a thread."""

    def __init__(self, interval: float = 0.02):
        self.peak_kb, self.interval = 0, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def now_kb() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
        return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self.now_kb())
            time.sleep(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_kb = max(self.peak_kb, self.now_kb())


def child(config: Path, work: Path, system_malloc: bool) -> dict:
    """One size, in this (fresh) process: set-up with the cache build timed apart, one epoch."""
    import torch

    from opec.config import load_config
    from opec.engine.feature_sources import CachedFeatures
    from opec.engine.trainer import Trainer

    configure_malloc(system_malloc)
    torch.manual_seed(0)
    cache_seconds = {}
    attach = CachedFeatures.attach

    def timed_attach(self, split, *args, **kwargs):
        start = time.perf_counter()
        attach(self, split, *args, **kwargs)
        cache_seconds[split] = time.perf_counter() - start

    CachedFeatures.attach = timed_attach
    with AnonPeak() as anon:
        trainer = Trainer(load_config(config), work_dir=work, resume="no", device="cpu")
        start = time.perf_counter()
        trainer.setup()
        setup = time.perf_counter() - start
        anon_setup_kb = AnonPeak.now_kb()
        start = time.perf_counter()
        trainer.train_one_epoch(0)
        epoch = time.perf_counter() - start
        trainer.loggers.close()
    persons = trainer.train_set.num_persons
    rows = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    step_persons = [r["values"]["persons"] for r in rows if r["group"] == "train"]
    disk = sum(f.stat().st_size for f in (work / "feature_cache").glob("train.tap*.npy"))
    rss_kb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                 resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return {"persons": persons, "images": len(trainer.train_set),
            "setup_s": setup - sum(cache_seconds.values()), "cache_s": cache_seconds["train"],
            "disk_bytes_per_person": disk / persons, "epoch_s": epoch,
            "max_step_persons": max(step_persons), "anon_setup_mb": anon_setup_kb / 1024,
            "peak_rss_mb": rss_kb / 1024, "peak_anon_mb": anon.peak_kb / 1024}


def fit_line(xs, ys) -> tuple[float, float]:
    """Least-squares (intercept, slope) of ys over xs."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - slope * mx, slope


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-images", type=int, default=10, help="training images at 1x (about 3.5 persons each)")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--child", nargs=2, metavar=("CONFIG", "WORK"), help=argparse.SUPPRESS)
    add_system_malloc_flag(parser)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(Path(args.child[0]), Path(args.child[1]), args.system_malloc)))
        return 0

    from opec.cli import make_demo_data as demo
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import torch

    print(f"CPU {cpu}, torch {torch.__version__}, {torch.get_num_threads()} threads; disk cache float16, "
          f"all taps, ToyFeatureNet SPPE stand-in; {BATCH_IMAGES} images per step; malloc: "
          f"{'glibc default' if args.system_malloc else 'retain freed memory (as tools/train.py)'}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for factor in args.factors:
            folder = Path(tmp) / f"x{factor}"
            start = time.perf_counter()
            demo.generate(folder / "data", train_images=args.base_images * factor, test_images=2, seed=factor)
            generated = time.perf_counter() - start
            config = write_config(folder, folder / "data")
            done = subprocess.run([sys.executable, __file__, "--child", str(config), str(folder / "work")]
                                  + (["--system-malloc"] if args.system_malloc else []),
                                  capture_output=True, text=True, cwd=REPO)
            if done.returncode != 0:
                print(done.stderr[-3000:], file=sys.stderr)
                return 1
            res = json.loads(done.stdout.strip().splitlines()[-1])
            res["factor"], res["generate_s"] = factor, generated
            results.append(res)
            print(f"{factor}x done: {res['persons']} persons", flush=True)

    print("\n| size | images | persons | set-up s | cache build s | disk bytes/person | epoch s | "
          "epoch ms/person | largest step (persons) | anon after set-up MB | peak anon MB | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['factor']}x | {r['images']} | {r['persons']} | {r['setup_s']:.2f} | {r['cache_s']:.2f} | "
              f"{r['disk_bytes_per_person']:,.0f} | {r['epoch_s']:.1f} | {1000 * r['epoch_s'] / r['persons']:.0f} | "
              f"{r['max_step_persons']} | {r['anon_setup_mb']:.0f} | {r['peak_anon_mb']:.0f} | {r['peak_rss_mb']:.0f} |")
    persons = [r["persons"] for r in results]
    n = CROWDPOSE_TRAIN_PERSONS
    print(f"\nlinear fit over persons (intercept + slope x persons), extrapolated to the original's "
          f"{n:,} CrowdPose training persons:")
    for key, label, unit in (("setup_s", "set-up", "s"), ("cache_s", "cache build (stand-in SPPE)", "s"),
                             ("epoch_s", "epoch", "s"), ("peak_rss_mb", "peak RSS incl. mapped cache pages", "MB")):
        a, b = fit_line(persons, [r[key] for r in results])
        print(f"  {label}: {a:.2f} + {b:.4f}/person -> {a + b * n:,.0f} {unit}")
    # The process's own memory holds no per-person data with the disk cache; its peak is the worst
    # step seen, which rises with the number of steps, so it is fitted over log2(persons).
    logs = [math.log2(p) for p in persons]
    for key, label in (("anon_setup_mb", "anonymous memory after set-up"), ("peak_anon_mb", "peak anonymous memory")):
        a, b = fit_line(logs, [r[key] for r in results])
        print(f"  {label}: {a:.0f} + {b:.1f}/doubling of persons -> {a + b * math.log2(n):,.0f} MB")
    per_person = results[-1]["disk_bytes_per_person"]
    print(f"  disk: {per_person:,.0f} bytes/person -> {per_person * n / 1e9:.1f} GB "
          f"(taps='first' stores 1/7 of it: {per_person * n / 7 / 1e9:.1f} GB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
