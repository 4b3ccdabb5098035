"""SPPE speed on CPU: FastPose crops/s at 320x256 (batch 1 and 8) and crop throughput.

FastPose: FLOPs per crop are counted (2 per multiply-add over every conv and linear layer) and the
achieved GFLOP/s is compared with the compute ceiling measured in the same process: a 3x3,
256 -> 256 channel ``conv2d`` at the batch size in question, at the three resolutions FastPose runs
its 3x3 convolutions (20x16, 40x32, 80x64); the best of those is the ceiling. Model and ceiling are
timed interleaved, best of ``--repeats``, so a noisy shared machine affects both alike. Variants:
``original`` (eager NCHW, BatchNorm separate, ``no_grad`` -- how the original runs), ``fused``
(``build_sppe(fuse=True)``: BatchNorm folded, channels_last, oneDNN convs from prepacked weights with
ReLU / residual add fused in, ``inference_mode``) and ``compiled``
(``compile_for_inference``: torch.compile with Inductor freezing; its compile time is reported apart;
``--no-compile`` skips it).

Crops: :func:`opec.data.crop.alphapose_crop` against a literal per-box version of the original
(full-image copy, zero the outside by slices, warp), same image and boxes; outputs must be bit-equal.
Throughput is timed back to back (blocks of calls of one method after 20 ms of settling calls, the
methods alternating), and also per call right after a PyTorch operation on all threads, as in the
pipeline after the detector: PyTorch's OpenMP threads then keep spinning on the cores for some
milliseconds (libgomp's spin-wait), which slows OpenCV's threads but not the naive crop's own
PyTorch operations.

    python benchmarks/sppe_speed.py [--threads 2] [--repeats 7] [--no-compile] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from opec.data.crop import INPUT_HEIGHT, INPUT_WIDTH, RGB_MEAN, alphapose_crop, enlarge_boxes
from opec.sppe import build_sppe, compile_for_inference

from common import add_system_malloc_flag, configure_malloc  # benchmarks/common.py

CEILING_SIZES = ((20, 16), (40, 32), (80, 64))


def count_flops(model: nn.Module, x: torch.Tensor) -> int:
    """FLOPs (2 x multiply-adds) of convolutions and linear layers for one forward of ``x``."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            total += 2 * output.numel() * k
        else:
            total += 2 * inputs[0].shape[0] * module.in_features * module.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.inference_mode():
        model(x)
    for handle in handles:
        handle.remove()
    return total


def best_time(fn, repeats: int, inner: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - start) / inner)
    return best


def bench_sppe(batch: int, repeats: int, with_compiled: bool) -> dict:
    torch.manual_seed(0)
    original = build_sppe()
    fused = build_sppe(fuse=True)
    x = torch.randn(batch, 3, INPUT_HEIGHT, INPUT_WIDTH)
    x_last = x.contiguous(memory_format=torch.channels_last)
    flops = count_flops(original, x) / batch
    variants = {"original": lambda: original(x), "fused": lambda: fused(x_last)}
    compile_seconds = None
    if with_compiled:
        compiled = compile_for_inference(build_sppe())
        start = time.perf_counter()
        with torch.inference_mode():
            compiled(x)
        compile_seconds = time.perf_counter() - start
        variants["compiled"] = lambda: compiled(x)
    weight = torch.randn(256, 256, 3, 3)
    ceilings = {size: torch.randn(batch, 256, *size) for size in CEILING_SIZES}

    def run(variant):
        if variant == "original":
            with torch.no_grad():
                variants[variant]()
        else:
            with torch.inference_mode():
                variants[variant]()

    def run_conv(inp):
        with torch.inference_mode():
            F.conv2d(inp, weight, padding=1)

    times = {name: float("inf") for name in variants}
    conv_times = {size: float("inf") for size in CEILING_SIZES}
    for name in variants:  # warm-up (oneDNN primitive creation)
        run(name)
    for _ in range(repeats):  # interleaved: models and ceiling see the same machine load
        for name in variants:
            times[name] = min(times[name], best_time(lambda: run(name), 1))
        for size, inp in ceilings.items():
            conv_times[size] = min(conv_times[size], best_time(lambda: run_conv(inp), 1, inner=3))
    conv_gflops = {size: 2 * 256 * 256 * 9 * size[0] * size[1] * batch / t / 1e9 for size, t in conv_times.items()}
    ceiling = max(conv_gflops.values())
    result = {"batch": batch, "gflop_per_crop": flops / 1e9, "ceiling_gflops": ceiling,
              "compile_seconds": compile_seconds,
              "ceiling_by_size": {f"{h}x{w}": g for (h, w), g in conv_gflops.items()}}
    for name, seconds in times.items():
        gflops = flops * batch / seconds / 1e9
        result[name] = {"crops_per_s": batch / seconds, "gflops": gflops, "fraction_of_ceiling": gflops / ceiling}
    return result


def naive_crops(image_bgr: np.ndarray, boxes) -> torch.Tensor:
    """The original's way: convert once, then per box clone the whole image, zero by slices, warp."""
    image = torch.from_numpy(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float()
    if image.max() > 1:
        image /= 255
    for channel, mean in enumerate(RGB_MEAN):
        image[channel].add_(-mean)
    pt1, pt2 = enlarge_boxes(boxes, image_bgr.shape[1], image_bgr.shape[0])
    crops = []
    for a, b in zip(pt1, pt2):
        img = image.clone()
        ulx, uly = a.int().tolist()
        brx, bry = (b - 1).int().tolist()
        len_h = max(bry - uly, (brx - ulx) * INPUT_HEIGHT / INPUT_WIDTH)
        len_w = len_h * INPUT_WIDTH / INPUT_HEIGHT
        pad_h, pad_w = (len_h - (bry - uly)) // 2, (len_w - (brx - ulx)) // 2
        if uly > 0:
            img[:, :uly] = 0
        if ulx > 0:
            img[:, :, :ulx] = 0
        if bry < img.shape[1] - 1:
            img[:, bry + 1:] = 0
        if brx < img.shape[2] - 1:
            img[:, :, brx + 1:] = 0
        src = np.array([[ulx - pad_w, uly - pad_h], [brx + pad_w, bry + pad_h], [0, 0]], np.float32)
        dst = np.array([[0, 0], [INPUT_WIDTH - 1, INPUT_HEIGHT - 1], [0, 0]], np.float32)
        for points in (src, dst):
            d = points[0] - points[1]
            points[2] = points[1] + np.array([-d[1], d[0]], np.float32)
        warped = cv2.warpAffine(img.permute(1, 2, 0).numpy(), cv2.getAffineTransform(src, dst),
                                (INPUT_WIDTH, INPUT_HEIGHT), flags=cv2.INTER_LINEAR)
        crops.append(torch.from_numpy(warped).permute(2, 0, 1))
    return torch.stack(crops)


def block_time(fn, calls: int, settle: float = 0.02) -> float:
    """Seconds per call of ``fn`` called ``calls`` times back to back, after calling it for ``settle``
    seconds first: whatever ran before (caches, PyTorch's OpenMP threads still spin-waiting for
    several ms) then no longer counts."""
    start = time.perf_counter()
    while time.perf_counter() - start < settle:
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def time_after(fn, before, calls: int) -> float:
    """Best seconds of one call of ``fn`` made right after ``before()``, over ``calls`` tries."""
    best = float("inf")
    for _ in range(calls):
        before()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_crops(repeats: int) -> list[dict]:
    rng = np.random.default_rng(0)
    pytorch_work = torch.randn(4_000_000)
    results = []
    for (height, width), count in (((480, 640), 8), ((864, 900), 4), ((1080, 1920), 12)):
        image = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (5, 5), 0)
        # person-like boxes: heights 25-70 % of the image, aspect 0.35-0.6
        box_h = rng.uniform(0.25, 0.7, count) * height
        box_w = box_h * rng.uniform(0.35, 0.6, count)
        x1 = rng.uniform(0, width - box_w)
        y1 = rng.uniform(0, height - box_h)
        boxes = np.stack([x1, y1, x1 + box_w, y1 + box_h], 1).astype(np.float32)
        methods = {"fast": lambda: alphapose_crop(image, boxes)[0], "naive": lambda: naive_crops(image, boxes)}
        bit_equal = torch.equal(methods["fast"](), methods["naive"]())
        throughput = {name: float("inf") for name in methods}
        after_pytorch = dict(throughput)
        for _ in range(repeats):  # the two methods alternate, so machine load affects both alike
            for name, fn in methods.items():
                throughput[name] = min(throughput[name], block_time(fn, calls=10))
        for _ in range(repeats):
            for name, fn in methods.items():
                after_pytorch[name] = min(after_pytorch[name], time_after(fn, lambda: pytorch_work.add_(1), calls=3))
        results.append({"image": f"{width}x{height}", "boxes": count, "bit_equal": bit_equal,
                        "crops_per_s": count / throughput["fast"], "naive_crops_per_s": count / throughput["naive"],
                        "speedup": throughput["naive"] / throughput["fast"],
                        "after_pytorch": {"crops_per_s": count / after_pytorch["fast"],
                                          "naive_crops_per_s": count / after_pytorch["naive"],
                                          "speedup": after_pytorch["naive"] / after_pytorch["fast"]}})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    parser.add_argument("--repeats", type=int, default=7,
                        help="timing repeats, best is kept (default 7)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile variant")
    add_system_malloc_flag(parser)
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    malloc = configure_malloc(args.system_malloc)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    report = {"threads": args.threads, "malloc": malloc, "torch": torch.__version__, "opencv": cv2.__version__,
              "crops": bench_crops(args.repeats), "sppe": [bench_sppe(b, args.repeats, not args.no_compile) for b in args.batches]}
    for row in report["crops"]:
        after = row["after_pytorch"]
        print(f"crops {row['image']:>9} x{row['boxes']:<2}: {row['crops_per_s']:7.0f} crops/s, naive "
              f"{row['naive_crops_per_s']:6.0f} crops/s, speed-up {row['speedup']:.1f}x back to back; right after "
              f"PyTorch work {after['crops_per_s']:5.0f} vs {after['naive_crops_per_s']:5.0f} crops/s "
              f"({after['speedup']:.1f}x); bit-equal {row['bit_equal']}")
    for row in report["sppe"]:
        print(f"FastPose batch {row['batch']}: {row['gflop_per_crop']:.1f} GFLOP/crop, ceiling (3x3 conv 256ch) "
              f"{row['ceiling_gflops']:.0f} GFLOP/s")
        if row["compile_seconds"] is not None:
            print(f"  (compiled variant: first call compiled in {row['compile_seconds']:.0f} s)")
        for name in ("original", "fused", "compiled"):
            if name not in row:
                continue
            r = row[name]
            print(f"  {name:8s}: {r['crops_per_s']:6.2f} crops/s, {r['gflops']:6.0f} GFLOP/s, "
                  f"{r['fraction_of_ceiling']:.2f} of ceiling")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(report, stream, indent=1)


if __name__ == "__main__":
    main()
