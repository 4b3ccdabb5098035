"""YOLOv3-SPP detector speed on CPU with random weights.

Reports, at the given input size (608 by default):
* FLOPs per image (2 x multiply-adds of every conv, counted from the layer shapes),
* images/s of the network forward in the original style (separate BN, NCHW, ``no_grad``) and as
  ``YOLODetector`` runs it (BN folded into the convs, channels-last, ``inference_mode``, oneDNN convs
  with the leaky ReLU fused), and of the whole ``detect()`` call (letterbox + network + NMS + mapping
  back); the three BN-free head convs (<1% of the FLOPs) take the oneDNN route in both,
* the achieved GFLOP/s as a fraction of a same-process 3x3 256->256 conv2d's GFLOP/s (the compute
  ceiling here; the best of NCHW and channels-last), measured interleaved with the detector runs,
* the largest output difference between the two network variants (they must agree within the
  parity tolerance: raw head maps atol 1e-3, decoded prediction atol 1e-3 + rtol 1e-4).

    python benchmarks/detector_speed.py [--inp-dim 608] [--repeats 5] [--threads 2] [--clock wall|cpu]
"""
from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from opec.detection.darknet import Shortcut
from opec.detection import DEFAULT_CFG, Darknet, YOLODetector, load_darknet_weights, save_darknet_weights

from common import add_system_malloc_flag, configure_malloc  # benchmarks/common.py


def conv_flops(cfg_path: Path, inp_dim: int) -> int:
    """2 x multiply-adds of every conv for one (1, 3, D, D) input (shapes on the meta device)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        conv = module.conv
        total += 2 * output.numel() * conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]

    with torch.device("meta"):
        model = Darknet(cfg_path)
        for _, conv in model.conv_layers():
            conv.register_forward_hook(count)
        model(torch.empty(1, 3, inp_dim, inp_dim))
    return total


def random_weights(path: Path, seed: int = 0) -> None:
    """A weights file whose activations stay O(1): He-normal convs, BN near identity, residual
    branches damped (BN gamma 0.1-0.3 before each shortcut), small head weights."""
    torch.manual_seed(seed)
    model = Darknet(DEFAULT_CFG)
    before_shortcut = {i - 1 for i, layer in enumerate(model.layers) if isinstance(layer, Shortcut)}
    with torch.no_grad():
        for index, conv in model.conv_layers():
            weight = conv.conv.weight
            fan_in = weight.shape[1] * weight.shape[2] * weight.shape[3]
            if conv.bn is None:  # detection head: logits O(1)
                weight.normal_(0, 0.5 / math.sqrt(fan_in))
                conv.conv.bias.normal_(0, 0.5)
                continue
            weight.normal_(0, math.sqrt(2.0 / fan_in))
            if index in before_shortcut:
                conv.bn.weight.uniform_(0.1, 0.3)
            else:
                conv.bn.weight.uniform_(0.8, 1.2)
            conv.bn.bias.normal_(0, 0.1)
            conv.bn.running_mean.normal_(0, 0.1)
            conv.bn.running_var.uniform_(0.8, 1.2)
    save_darknet_weights(model, path)


def timed(fn, clock) -> float:
    start = clock()
    fn()
    return clock() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--inp-dim", type=int, default=608)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (the best is reported)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="'cpu' (process CPU time, only with --threads 1) is insensitive to other load")
    add_system_malloc_flag(parser)
    args = parser.parse_args()
    malloc = configure_malloc(args.system_malloc)
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu needs --threads 1 (CPU time sums the threads)")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    torch.set_num_threads(args.threads)
    dim = args.inp_dim

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "yolov3-spp-random.weights"
        random_weights(weights)
        original = Darknet(DEFAULT_CFG).eval()
        load_darknet_weights(original, weights)
        detector = YOLODetector(weights=weights, inp_dim=dim)

    flops = conv_flops(DEFAULT_CFG, dim)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    x = torch.rand(1, 3, dim, dim, generator=torch.Generator().manual_seed(0))
    ref_input = torch.rand(1, 256, dim // 8, dim // 8)
    ref_conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).eval()
    ref_conv_cl = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).eval().to(memory_format=torch.channels_last)
    ref_input_cl = ref_input.contiguous(memory_format=torch.channels_last)
    ref_flops = 2 * 256 * 256 * 9 * (dim // 8) ** 2

    # outputs of the two variants agree within the parity tolerance
    with torch.no_grad():
        heads_original = original.heads(x)
        pred_original = original(x)
    with torch.inference_mode():
        xc = x.contiguous(memory_format=torch.channels_last)
        heads_fast = detector.model.heads(xc)
        pred_fast = detector.model(xc)
    head_diff = max((a - b).abs().max().item() for a, b in zip(heads_original, heads_fast))
    head_scale = max(a.abs().max().item() for a in heads_original)
    torch.testing.assert_close(pred_fast, pred_original, rtol=1e-4, atol=1e-3)

    def run_original():
        with torch.no_grad():
            original(x)

    def run_conv():
        with torch.inference_mode():
            ref_conv(ref_input)

    def run_conv_cl():
        with torch.inference_mode():
            ref_conv_cl(ref_input_cl)

    runs = {"original": run_original, "fast": lambda: detector.predict(x),
            "detect": lambda: detector.detect([image]), "conv": run_conv, "conv_cl": run_conv_cl}
    for fn in runs.values():  # warm-up (oneDNN primitive creation)
        fn()
    best = {name: math.inf for name in runs}
    for _ in range(args.repeats):  # interleaved, so background load hits every variant alike
        for name, fn in runs.items():
            best[name] = min(best[name], timed(fn, clock))

    ceiling = ref_flops / min(best["conv"], best["conv_cl"]) / 1e9
    print(f"YOLOv3-SPP at {dim}x{dim}, CPU, {args.threads} thread(s), {args.clock} clock, best of "
          f"{args.repeats}, torch {torch.__version__}, malloc: {malloc}")
    print(f"FLOPs per image: {flops / 1e9:.1f} GFLOP")
    print(f"3x3 256->256 conv2d at {dim // 8}x{dim // 8}: {ref_flops / best['conv'] / 1e9:.1f} GFLOP/s (NCHW), "
          f"{ref_flops / best['conv_cl'] / 1e9:.1f} GFLOP/s (channels-last); ceiling {ceiling:.1f} GFLOP/s")
    for name, label in [("original", "network, original style (BN separate, NCHW)"),
                        ("fast", "network, YOLODetector (BN folded, channels-last, oneDNN conv+leaky)"),
                        ("detect", "detect() on a 640x480 image (letterbox + network + NMS)")]:
        gflops = flops / best[name] / 1e9
        print(f"{label}: {1 / best[name]:.2f} images/s, {gflops:.1f} GFLOP/s, "
              f"{gflops / ceiling:.2f} of the conv ceiling")
    print(f"max |raw head difference| between the two networks: {head_diff:.2e} (max |raw| {head_scale:.1f})")


if __name__ == "__main__":
    main()
