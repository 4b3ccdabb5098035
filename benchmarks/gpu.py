"""One-command GPU readiness benchmark: every stage's throughput as a fraction of this process's
matmul peak, and the projected wall time of the original's full CrowdPose training schedule.

    python benchmarks/gpu.py [--device cuda|cpu] [--quick]

Prints one table. Rows:

  refiner train        persons/s of ``Trainer.train_step`` (forward, float32 loss, backward, clip,
                       Adam) on cached-tap batches: float32 with NCHW taps, float32 / TF32 /
                       AMP float16 (gradient scaling) / AMP bfloat16 with channels-last taps (the
                       layout the feature cache hands out)
  refiner eval         persons/s of the refiner forward (the per-epoch test-set refinement)
  SPPE                 crops/s of the frozen, fused FastPose at batch 1 / 32 / 128
  detector             images/s of YOLOv3-SPP at 608x608 (letterbox + network)
  end to end           images/s of ``TopDownPipeline`` on a synthetic crowd image (960x720, 3x3
                       tiles of the demo generator's scenes, 30 persons) at batch 1 and 16
  feature-cache build  persons/s of ``FeatureCache.build`` with FastPose (crops read from JPEG
                       files, disk storage, float16, tap 0 only: the CrowdPose configs' setting)

Each row's achieved FLOP/s (FLOPs per item counted with ``torch.utils.flop_counter`` on the same
model) is divided by the same-process matmul peak of the row's dtype (float32 with TF32 off, TF32,
float16, bfloat16: the best of 4096^2 / 8192^2 ``torch.mm``), so numbers compare across GPUs. All
float32 rows run with TF32 off, except the TF32 row. Every network has random weights (speed does
not depend on them); because the random detector finds nothing meaningful, the end-to-end detector
stage runs the real letterbox + network and then hands on the scene's known person boxes.

On a CPU (no GPU, or ``--device cpu``) the same table runs at reduced batch sizes, rows that need
CUDA (TF32, float16 autocast) are marked n/a, and the output says it is a CPU run. ``--quick``
shrinks everything further (a smoke test). Finishes in under 5 minutes on one GPU.

The projection: cache build once for the training and test persons, then per epoch one pass of
training at the best measured refiner-train row and one refinement of the test persons, for the
original schedule's 25 epochs.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from common import STAND_IN_FEATURE_NET, STAND_IN_IMPORTS, demo_data_config, model_config  # benchmarks/common.py

# The original's CrowdPose schedule and data sizes (OPEC-Net train.sh / config; CrowdPose paper):
EPOCHS = 25
# CrowdPose has 20,000 images with about 80,000 annotated persons, split train:val:test = 5:1:4, so
# its train split is 10,000 images and about 40,000 persons, the test split 8,000 images and about
# 32,000 persons. The original also trains on coco_pose_45.json, a COCO subset whose size was never
# published: it is not counted here (pass --train-persons to include it).
CROWDPOSE_TRAIN_PERSONS = 40_000
CROWDPOSE_TEST_PERSONS = 32_000
# The original trains on 14 images per step (train.sh example); the demo generator's and CrowdPose's
# scenes hold about 4 persons each.
PERSONS_PER_STEP = 14 * 4

SIZES = {  # device kind -> batch sizes / repetitions
    "cuda": dict(train_persons=PERSONS_PER_STEP, eval_persons=60, sppe_batches=(1, 32, 128), det_batch=1,
                 e2e_batches=(1, 16), crowd_tiles=(3, 3), cache_images=48, min_seconds=2.0),
    "cpu": dict(train_persons=16, eval_persons=16, sppe_batches=(1, 4, 8), det_batch=1,
                e2e_batches=(1, 2), crowd_tiles=(1, 2), cache_images=9, min_seconds=1.0),
    "quick": dict(train_persons=4, eval_persons=4, sppe_batches=(1, 2), det_batch=1,
                  e2e_batches=(1,), crowd_tiles=(1, 1), cache_images=9, min_seconds=0.2),
}
DTYPE_NAMES = {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


# ---------------------------------------------------------------- measurement helpers
def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextlib.contextmanager
def tf32(enabled: bool):
    """TF32 for matmuls and cuDNN convolutions on (TF32 row) or off (true float32)."""
    before = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before


def rate(fn, items: int, device: torch.device, min_seconds: float, warmup: int = 2) -> float:
    """items/s of ``fn()`` (each call handles ``items``), after ``warmup`` calls, over >= min_seconds
    (at least one call)."""
    for _ in range(warmup):
        fn()
    sync(device)
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls * items / elapsed


def count_flops(fn) -> int:
    """FLOPs of one ``fn()`` call (matmuls and convolutions, forward and backward). The counter sees
    aten ops only: count on the plain model, not on the oneDNN-fused inference one."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def matmul_peak(device: torch.device, name: str) -> float | None:
    """FLOP/s of the best of 4096^2 and 8192^2 ``torch.mm`` in the dtype ``name``; None where the
    dtype has no meaning on the device (TF32 / float16 on a CPU)."""
    if device.type == "cpu" and name in ("tf32", "fp16"):
        return None
    best = 0.0
    for size in ((4096, 8192) if device.type == "cuda" else (2048,)):
        a = torch.randn(size, size, device=device, dtype=DTYPE_NAMES[name])
        b = torch.randn(size, size, device=device, dtype=DTYPE_NAMES[name])
        with tf32(name == "tf32"):
            best = max(best, rate(lambda: torch.mm(a, b), 2 * size ** 3, device, 0.5 if device.type == "cuda" else 1.0))
    return best


# ---------------------------------------------------------------- the rows
class Row:
    def __init__(self, name: str, unit: str, value: float | None, dtype: str, flops_per_item: float | None,
                 note: str = ""):
        self.name, self.unit, self.value, self.dtype, self.flops, self.note = name, unit, value, dtype, flops_per_item, note


def _tool(name: str):
    return importlib.import_module(f"opec.cli.{name}")


def write_config(folder: Path, data: Path, amp: str | None) -> Path:
    """A training config on the generated data; the trainer's own cache uses the cheap stand-in
    (its taps have FastPose's shapes) because the benchmark feeds its own taps to ``train_step``."""
    path = folder / f"gpu_bench_{amp or 'fp32'}.py"
    path.write_text(STAND_IN_IMPORTS + demo_data_config(
        data, model_config(STAND_IN_FEATURE_NET), batch_images=2, epochs=25, amp=repr(amp),
        feature_cache="dict(storage='memory', dtype='float32', batch_size=8)"))
    return path


def refiner_batch(persons: int, device, channels_last: bool):
    """Box-normalised joints/targets (P,12,3) and FastPose-shaped taps of 320x256 crops."""
    g = torch.Generator().manual_seed(0)
    joints = torch.cat([torch.rand(persons, 12, 2, generator=g) * 2 - 1, torch.rand(persons, 12, 1, generator=g)], -1)
    target = torch.cat([torch.rand(persons, 12, 2, generator=g) * 2 - 1, torch.full((persons, 12, 1), 2.0)], -1)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    taps = [torch.randn(persons, c, h, w, generator=g).to(device).contiguous(memory_format=fmt)
            for c, h, w in ((512, 20, 16), (256, 40, 32), (128, 80, 64))]
    return joints.to(device), taps, target.to(device)


def refiner_rows(tmp: Path, data: Path, device, sizes) -> list[Row]:
    from opec.config import load_config
    from opec.engine.trainer import Trainer

    persons = sizes["train_persons"]
    variants = [("refiner train fp32, NCHW taps", None, False, "fp32"),
                ("refiner train fp32", None, True, "fp32"),
                ("refiner train TF32", None, True, "tf32"),
                ("refiner train AMP fp16", "float16", True, "fp16"),
                ("refiner train AMP bf16", "bfloat16", True, "bf16")]
    rows, flops = [], None
    for name, amp, channels_last, dtype in variants:
        if device.type == "cpu" and dtype in ("tf32", "fp16"):
            rows.append(Row(name, "persons/s", None, dtype, None, "n/a on CPU"))
            continue
        trainer = Trainer(load_config(write_config(tmp, data, amp)), work_dir=tmp / f"w_{dtype}", resume="no",
                          device=device.type, amp=amp)
        trainer.setup()
        trainer.loggers.close()
        joints, taps, target = refiner_batch(persons, device, channels_last)
        with tf32(dtype == "tf32"):
            step = lambda: trainer.train_step(joints, taps, target, clip=1.0)  # noqa: E731
            if flops is None:
                flops = count_flops(step) / persons
            value = rate(step, persons, device, sizes["min_seconds"])
        rows.append(Row(name, "persons/s", value, dtype, flops, f"{persons} persons/step"))
    model = trainer.model.eval()
    joints, taps, _ = refiner_batch(sizes["eval_persons"], device, True)
    with tf32(False), torch.no_grad():
        forward = lambda: model(joints, taps)  # noqa: E731
        eval_flops = count_flops(forward) / sizes["eval_persons"]
        value = rate(forward, sizes["eval_persons"], device, sizes["min_seconds"])
    rows.append(Row("refiner eval fp32", "persons/s", value, "fp32", eval_flops, f"batch {sizes['eval_persons']}"))
    return rows


def sppe_flops() -> int:
    """FLOPs of FastPose on one 320x256 crop (plain model on the CPU; the count is device-free)."""
    from opec.sppe import build_sppe

    with torch.no_grad():
        return count_flops(lambda: build_sppe(weights=None)(torch.rand(1, 3, 320, 256)))


def sppe_rows(device, sizes, flops) -> tuple[list[Row], torch.nn.Module]:
    """The frozen, fused FastPose of the inference pipeline. Its heat-map layer's bias is raised by 1
    so that its random heat maps pass pose NMS's joint-score threshold (0.3) as a trained SPPE's do
    and the end-to-end rows refine every person (speed does not depend on the values)."""
    from opec.sppe import build_sppe

    sppe = build_sppe(weights=None, device=device, fuse=True)
    with torch.no_grad():
        sppe.conv_out.bias += 1.0
    rows = []
    with tf32(False), torch.inference_mode():
        for batch in sizes["sppe_batches"]:
            crops = torch.rand(batch, 3, 320, 256, device=device).contiguous(memory_format=torch.channels_last)
            value = rate(lambda: sppe(crops), batch, device, sizes["min_seconds"])
            rows.append(Row(f"SPPE batch {batch}", "crops/s", value, "fp32", flops))
    return rows, sppe


def detector_row(device, sizes):
    from opec.detection import YOLODetector
    from opec.detection.preprocess import letterbox

    detector = YOLODetector(weights=None, inp_dim=608, device=device)
    image = (np.random.default_rng(0).random((720, 960, 3)) * 255).astype(np.uint8)
    batch = sizes["det_batch"]
    with tf32(False):
        inputs = torch.cat([letterbox(image, 608)] * batch)
        flops = count_flops(lambda: detector.model(inputs.to(device))) / batch  # autograd on: aten convs
        value = rate(lambda: detector.predict(torch.cat([letterbox(image, 608)] * batch)), batch, device,
                     sizes["min_seconds"], warmup=1)
    return Row("detector 608x608", "images/s", value, "fp32", flops, f"batch {batch}"), detector


class KnownBoxDetector:
    """The real detector's letterbox + network on every image, then the scene's known person boxes
    (a randomly initialised YOLO finds nothing meaningful)."""

    def __init__(self, yolo, boxes):
        self.yolo, self.boxes = yolo, boxes

    def detect(self, images):
        from opec.detection.preprocess import letterbox

        for start in range(0, len(images), 16):
            self.yolo.predict(torch.cat([letterbox(im, self.yolo.inp_dim) for im in images[start:start + 16]]))
        return [(torch.as_tensor(self.boxes), torch.ones(len(self.boxes))) for _ in images]


def crowd_scene(data: Path, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """BGR image tiled from rows x cols demo training scenes (320x240 each), with their person boxes
    (x1, y1, x2, y2)."""
    import json

    import cv2

    entries = json.loads((data / "train_process_datasets" / "train_demo.json").read_text())
    lines, boxes = [], []
    for r in range(rows):
        tiles = []
        for c in range(cols):
            entry = entries[r * cols + c]
            tile = cv2.imread(str(data / "images" / entry["img_name"]))
            h, w = tile.shape[:2]
            for pair in entry["pair"]:
                x0, y0, x1, y1 = pair["yolo_bbox"]
                boxes.append([x0 + c * w, y0 + r * h, x1 + c * w, y1 + r * h])
            tiles.append(tile)
        lines.append(np.concatenate(tiles, axis=1))
    return np.concatenate(lines, axis=0), np.asarray(boxes, dtype=np.float32)


def end_to_end_rows(data: Path, detector, sppe, refiner, device, sizes, flops_of) -> list[Row]:
    from opec.apis.pipeline import TopDownPipeline

    image, boxes = crowd_scene(data, *sizes["crowd_tiles"])
    from opec.refiner import TopDownRefiner

    model = TopDownRefiner(sppe, refiner)  # frozen, the pose network's own taps reused
    pipeline = TopDownPipeline(KnownBoxDetector(detector, boxes), sppe, model, device=device, sppe_batch=32)
    persons = len(pipeline.predict([image])[0])
    flops = flops_of["detector"] + len(boxes) * flops_of["sppe"] + persons * flops_of["refiner"]
    rows = []
    with tf32(False), torch.no_grad():
        for batch in sizes["e2e_batches"]:
            images = [image] * batch
            value = rate(lambda: pipeline.predict(images), batch, device, sizes["min_seconds"], warmup=1)
            rows.append(Row(f"end to end batch {batch}", "images/s", value, "fp32", flops,
                            f"{len(boxes)} boxes, {persons} poses/image"))
    return rows


def cache_row(data: Path, tmp: Path, device, flops) -> Row:
    from opec.data.datasets import TrainDataset
    from opec.engine.feature_sources import frozen_extractor
    from opec.engine.features import FeatureCache

    from opec.sppe import build_sppe

    dataset = TrainDataset([dict(json_file=data / "train_process_datasets" / "train_demo.json", type="crowdpose",
                                 img_dir=data / "images")], crops=False)

    net = build_sppe(weights=None, device=device)  # the trainer's SPPE is not fused (DUC layers reused)
    with tf32(False):
        start = time.perf_counter()
        FeatureCache.build(dataset, frozen_extractor(net), device=device, storage="disk", dtype="float16",
                           path=tmp / "cache" / "train", fingerprint={}, batch_size=32, num_workers=2,
                           expand=net.expand_taps)
        sync(device)
        seconds = time.perf_counter() - start
    return Row("feature-cache build", "persons/s", dataset.num_persons / seconds, "fp32", flops,
               f"{dataset.num_persons} persons, disk fp16 tap0")


# ---------------------------------------------------------------- report
def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(device)}"
    name = platform.processor() or "CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"CPU {name}, {torch.get_num_threads()} threads"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--train-persons", type=int, default=CROWDPOSE_TRAIN_PERSONS,
                        help=f"training persons for the projection (default: CrowdPose train, {CROWDPOSE_TRAIN_PERSONS})")
    parser.add_argument("--test-persons", type=int, default=CROWDPOSE_TEST_PERSONS)
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    sizes = SIZES["quick" if args.quick else device.type]
    started = time.perf_counter()
    print(f"{'CPU RUN (reduced sizes; no GPU measured)' if device.type == 'cpu' else 'GPU run'}: "
          f"{describe(device)}, torch {torch.__version__}", flush=True)

    peaks = {name: matmul_peak(device, name) for name in DTYPE_NAMES}
    print("matmul peak (TFLOP/s): " + ", ".join(f"{k} {v / 1e12:.2f}" if v else f"{k} n/a" for k, v in peaks.items()),
          flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        _tool("make_demo_data").generate(data, train_images=sizes["cache_images"], test_images=2, seed=0)
        rows = refiner_rows(tmp, data, device, sizes)
        from opec.refiner import build_refiner

        refiner = build_refiner(dict(type="OPECNet", point_head="integral", num_joints=12, hid_dim=128)).to(device)
        fastpose_flops = sppe_flops()
        more, sppe = sppe_rows(device, sizes, fastpose_flops)
        rows += more
        det, detector = detector_row(device, sizes)
        rows.append(det)
        flops_of = {"detector": det.flops, "sppe": more[0].flops,
                    "refiner": next(r for r in rows if r.name == "refiner eval fp32").flops}
        rows += end_to_end_rows(data, detector, sppe, refiner, device, sizes, flops_of)
        del detector, sppe
        rows.append(cache_row(data, tmp, device, fastpose_flops))

    print()
    print(f"{'row':34s} {'rate':>19s}  {'GFLOP/item':>10s}  {'TFLOP/s':>8s}  {'of peak':>8s}  note")
    for r in rows:
        if r.value is None:
            print(f"{r.name:34s} {'n/a':>19s}  {'':>10s}  {'':>8s}  {'':>8s}  {r.note}")
            continue
        achieved = r.value * r.flops
        peak = peaks[r.dtype]
        print(f"{r.name:34s} {r.value:9.2f} {r.unit:>9s}  {r.flops / 1e9:10.2f}  {achieved / 1e12:8.3f}  {achieved / peak:7.1%}  {r.note} "
              f"({r.dtype} peak {peak / 1e12:.2f})")
    train = max((r for r in rows if r.name.startswith("refiner train") and r.value), key=lambda r: r.value)
    evaluation = next(r for r in rows if r.name == "refiner eval fp32")
    cache = rows[-1]
    persons = args.train_persons + args.test_persons
    hours = (persons / cache.value + EPOCHS * (args.train_persons / train.value
                                               + args.test_persons / evaluation.value)) / 3600
    print(f"\nprojected full CrowdPose schedule ({EPOCHS} epochs, {args.train_persons} training + "
          f"{args.test_persons} test persons; coco_pose_45 not counted): {hours:.2f} h on this "
          f"{'GPU' if device.type == 'cuda' else 'CPU'} = cache build {persons / cache.value / 3600:.2f} h + "
          f"{EPOCHS} x (train at '{train.name}' {args.train_persons / train.value / 60:.1f} min + "
          f"test refinement {args.test_persons / evaluation.value / 60:.1f} min)")
    if device.type == "cpu":
        print("This was a CPU run at reduced sizes: it says nothing about GPU speed.")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
