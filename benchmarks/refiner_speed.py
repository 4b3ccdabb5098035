"""OPEC-Net refiner speed on CPU (random weights), both variants, against an upstream-style path.

For the soft-argmax ("integral", attention config) and the FC variant, at batch 60 (the original's
test batch) and 320×256 crops (taps 512@20×16, 256@40×32, 128@80×64, channels-last as the feature
cache and the SPPE extractors hand them over; ``--nchw-taps`` for NCHW ones), reports:

* parameters and forward FLOPs per person (``torch.utils.flop_counter``: 2 × multiply-adds of every
  conv, transposed conv and matmul),
* eval forward persons/s (``inference_mode``) and train-step persons/s (train-mode forward, loss,
  backward, gradient clipping to norm 1, Adam step), best of ``--repeats``,
* the same for the *upstream-style* path in the same process: the same model and weights run the
  way the original runs it -- NCHW taps and decoder, ``nn.ConvTranspose2d`` up-sampling and
  ``F.grid_sample`` at the joints (the outputs are checked to agree) -- and the speed-up over it,
  the number to report: both sides share the machine's state, the allocator and this PyTorch,
* each divided by the fp32 GFLOP/s of a 4096×4096 ``torch.mm`` measured in the same process,
  immediately before each repetition (the machine is shared and its speed drifts: each run is
  paired with its own mm rate, and the best ratio of ``--repeats`` is reported with its run). These
  per-mm numbers depend on the CPU kind (its mm peak), so they only compare runs on one machine.

The allocator's share: run the script once as is and once with ``--system-malloc`` (glibc's
default, as the original runs) and compare the speed-ups' per-mm numbers.

    python benchmarks/refiner_speed.py [--batch 60] [--repeats 3] [--threads 2] [--nchw-taps]
                                       [--system-malloc] [--json out.json]
"""
from __future__ import annotations

import argparse
import copy
import json
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from torch import nn
from torch.nn import functional as F

from opec.refiner import OPECNet, opec_loss
from opec.refiner.feature_adaptation import CascadedFeatureAdaptation

from common import add_system_malloc_flag, configure_malloc  # benchmarks/common.py

VARIANTS = {"fc": "fc", "attention": "integral"}


def mm_gflops(n: int = 4096) -> float:
    """GFLOP/s of one fp32 ``n``×``n`` matrix product (operands reused across calls)."""
    if n not in _MM_OPERANDS:
        _MM_OPERANDS[n] = (torch.randn(n, n), torch.randn(n, n))
    a, b = _MM_OPERANDS[n]
    return 2 * n**3 / _timed(lambda: torch.mm(a, b)) / 1e9


_MM_OPERANDS: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def paired_best(fn, batch: int, repeats: int) -> tuple[float, float, float]:
    """Best (persons/s ÷ mm GFLOP/s) over ``repeats`` runs of ``fn``, each right after an mm;
    returns (ratio, persons/s, mm GFLOP/s) of that run."""
    fn()  # warm-up
    best = (0.0, 0.0, 0.0)
    for _ in range(repeats):
        mm = mm_gflops()
        persons_per_s = batch / _timed(fn)
        best = max(best, (persons_per_s / mm, persons_per_s, mm))
    return best


def make_inputs(batch: int, generator: torch.Generator, channels_last: bool = True):
    joints = torch.rand(batch, 12, 3, generator=generator) * 2 - 1
    joints[..., 2] = (joints[..., 2] + 1) / 2
    layout = torch.channels_last if channels_last else torch.contiguous_format
    taps = [torch.rand(batch, c, h, w, generator=generator).contiguous(memory_format=layout)
            for c, h, w in ((512, 20, 16), (256, 40, 32), (128, 80, 64))]
    target = torch.cat([torch.rand(batch, 12, 2, generator=generator) * 2 - 1, torch.ones(batch, 12, 1)], dim=-1)
    return joints, taps, target


class _NCHWDecoder(CascadedFeatureAdaptation):
    """The decoder as the original runs it: NCHW throughout (same layers and parameters)."""

    def forward(self, taps):
        tap16, tap8, tap4 = taps
        map16 = F.relu(self.conv16(tap16))
        map8 = F.relu(self.conv8(self.fuse8(F.relu(self.up16(map16)), tap8)))
        map4 = F.relu(self.conv4(self.fuse4(F.relu(self.up8(map8)), tap4)))
        return [map16, map8, map4], self.heatmap_conv(map4)


class _GridSampleSampler(nn.Module):
    """Features at the joints the original's way: ``F.grid_sample`` per map -> [(B, C_k, J)]."""

    def forward(self, maps, points):
        return [F.grid_sample(m, points[:, None], mode="bilinear", padding_mode="zeros", align_corners=True)[:, :, 0]
                for m in maps]


def upstream_style(model: OPECNet) -> OPECNet:
    """A copy of ``model`` (same weights) with the original's layout and operators: NCHW decoder,
    ``nn.ConvTranspose2d`` up-sampling, ``grid_sample`` joint sampling."""
    baseline = copy.deepcopy(model)
    decoder = baseline.feature_adaptation
    decoder.__class__ = _NCHWDecoder
    for name in ("up16", "up8"):
        fast = getattr(decoder, name)
        plain = nn.ConvTranspose2d(fast.in_channels, fast.out_channels, kernel_size=2, stride=2)
        plain.load_state_dict(fast.state_dict())
        setattr(decoder, name, plain)
    baseline.sampler = _GridSampleSampler()
    return baseline


def flops_per_person(model: OPECNet) -> int:
    joints, taps, _ = make_inputs(1, torch.Generator().manual_seed(0))
    model.eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(joints, taps)
    return counter.get_total_flops()


def measure(model: OPECNet, joints, taps, target, batch: int, repeats: int) -> dict:
    """Eval-forward and train-step speed of ``model`` (see the module docstring)."""
    model.eval()

    def eval_forward():
        with torch.inference_mode():
            model(joints, taps)

    eval_ratio, eval_pps, eval_mm = paired_best(eval_forward, batch, repeats)

    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss, _ = opec_loss(model(joints, taps), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()

    train_ratio, train_pps, train_mm = paired_best(train_step, batch, repeats)
    return dict(eval_persons_per_s=eval_pps, eval_mm_gflops=eval_mm, eval_per_mm_gflops=eval_ratio,
                train_persons_per_s=train_pps, train_mm_gflops=train_mm, train_per_mm_gflops=train_ratio)


def bench_variant(point_head: str, batch: int, repeats: int, channels_last: bool) -> dict:
    torch.manual_seed(0)
    model = OPECNet(point_head=point_head)
    baseline = upstream_style(model)
    joints, taps, target = make_inputs(batch, torch.Generator().manual_seed(1), channels_last)
    with torch.inference_mode():  # the same function, computed two ways
        model.eval(), baseline.eval()
        torch.testing.assert_close(model(joints, taps).stages[-1],
                                   baseline(joints, [t.contiguous() for t in taps]).stages[-1], rtol=1e-4, atol=1e-4)
    params = sum(p.numel() for p in model.parameters())
    flops = flops_per_person(model)
    ours = measure(model, joints, taps, target, batch, repeats)
    upstream = measure(baseline, joints, [t.contiguous() for t in taps], target, batch, repeats)
    return dict(params=params, gflops_per_person=flops / 1e9, **ours,
                upstream_style=upstream,
                eval_speedup=ours["eval_per_mm_gflops"] / upstream["eval_per_mm_gflops"],
                train_speedup=ours["train_per_mm_gflops"] / upstream["train_per_mm_gflops"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nchw-taps", action="store_true", help="feed NCHW taps (default: channels-last)")
    add_system_malloc_flag(parser)
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()
    malloc = configure_malloc(args.system_malloc)
    torch.set_num_threads(args.threads)

    results = {name: bench_variant(head, args.batch, args.repeats, not args.nchw_taps)
               for name, head in VARIANTS.items()}

    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, best of {args.repeats} "
          f"(each run paired with a 4096x4096 fp32 mm measured just before it); malloc: {malloc}; "
          f"taps: {'NCHW' if args.nchw_taps else 'channels-last'}")
    print(f"{'variant':<10} {'params':>11} {'GFLOP/person':>13} | {'eval p/s':>8} {'mm GF/s':>8} {'ratio':>6} | "
          f"{'train p/s':>9} {'mm GF/s':>8} {'ratio':>6}")
    for name, r in results.items():
        for label, row in ((name, r), ("  upstream", r["upstream_style"])):
            head = f"{r['params']:>11,} {r['gflops_per_person']:>13.3f}" if row is r else " " * 25
            print(f"{label:<10} {head} | {row['eval_persons_per_s']:>8.1f} "
                  f"{row['eval_mm_gflops']:>8.1f} {row['eval_per_mm_gflops']:>6.3f} | {row['train_persons_per_s']:>9.1f} "
                  f"{row['train_mm_gflops']:>8.1f} {row['train_per_mm_gflops']:>6.3f}")
    for name, r in results.items():
        print(f"speed-up over the upstream-style path, {name}: eval {r['eval_speedup']:.2f}x, "
              f"train {r['train_speedup']:.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(threads=args.threads, batch=args.batch, malloc=malloc, nchw_taps=args.nchw_taps,
                           variants=results), f, indent=2)


if __name__ == "__main__":
    main()
