"""OPEC-Net refiner speed on CPU (random weights), both variants, against an upstream-style path.

For the soft-argmax ("integral", attention config) and the FC variant, at batch 60 (the original's
test batch) and 320×256 crops (taps 512@20×16, 256@40×32, 128@80×64, channels-last as the feature
cache and the SPPE extractors hand them over; ``--nchw-taps`` for NCHW ones), reports:

* parameters and forward FLOPs per person (``torch.utils.flop_counter``: 2 × multiply-adds of every
  conv, transposed conv and matmul),
* eval forward persons/s (``inference_mode``) and train-step persons/s (train-mode forward, loss,
  backward, gradient clipping to norm 1, Adam step) of this project's model and of an
  *upstream-style* path: the same model and weights run the way the original runs it -- NCHW taps
  and decoder, ``nn.ConvTranspose2d`` up-sampling, ``F.grid_sample`` at the joints (the outputs are
  checked to agree);
* the speed-up over the upstream-style path, the number to report.

The four measurements (eval and train, both paths) are interleaved call by call and each keeps its
best of ``--repeats``, so that a shared machine's load hits all of them alike; both paths share the
allocator, this PyTorch and the CPU. The GFLOP/s of a 4096×4096 fp32 ``torch.mm`` before and after
is printed to show how loaded the machine was (it depends on the CPU kind: compare runs on one
machine only).

The allocator's share: run the script once as is and once with ``--system-malloc`` (glibc's
default, as the original runs) and compare the persons/s.

    python benchmarks/refiner_speed.py [--batch 60] [--repeats 5] [--threads 2] [--nchw-taps]
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


def interleaved_best(fns: dict, repeats: int) -> dict:
    """Best (shortest) seconds of each function over ``repeats`` rounds; every round calls all of
    them once, in turn, after one warm-up call each."""
    for fn in fns.values():
        fn()
    best = {name: float("inf") for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            best[name] = min(best[name], _timed(fn))
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


def step_functions(model: OPECNet, joints, taps, target) -> dict:
    """The eval forward and the train step of ``model`` on fixed inputs (see the module docstring)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def eval_forward():
        model.eval()
        with torch.inference_mode():
            model(joints, taps)

    def train_step():
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss, _ = opec_loss(model(joints, taps), target)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()

    return {"eval": eval_forward, "train": train_step}


def bench_variant(point_head: str, batch: int, repeats: int, channels_last: bool) -> dict:
    torch.manual_seed(0)
    model = OPECNet(point_head=point_head)
    baseline = upstream_style(model)
    joints, taps, target = make_inputs(batch, torch.Generator().manual_seed(1), channels_last)
    nchw_taps = [t.contiguous() for t in taps]
    model.eval(), baseline.eval()
    with torch.inference_mode():  # the same function, computed two ways
        torch.testing.assert_close(model(joints, taps).stages[-1], baseline(joints, nchw_taps).stages[-1],
                                   rtol=1e-4, atol=1e-4)
    params = sum(p.numel() for p in model.parameters())
    flops = flops_per_person(model)
    fns = {f"{path}_{kind}": fn
           for path, fns in (("ours", step_functions(model, joints, taps, target)),
                             ("upstream", step_functions(baseline, joints, nchw_taps, target)))
           for kind, fn in fns.items()}
    best = interleaved_best(fns, repeats)
    result = dict(params=params, gflops_per_person=flops / 1e9,
                  **{f"{name}_persons_per_s": batch / seconds for name, seconds in best.items()})
    for kind in ("eval", "train"):
        result[f"{kind}_speedup"] = best[f"upstream_{kind}"] / best[f"ours_{kind}"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--nchw-taps", action="store_true", help="feed NCHW taps (default: channels-last)")
    add_system_malloc_flag(parser)
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args()
    malloc = configure_malloc(args.system_malloc)
    torch.set_num_threads(args.threads)

    mm_before = mm_gflops()
    results = {name: bench_variant(head, args.batch, args.repeats, not args.nchw_taps)
               for name, head in VARIANTS.items()}
    mm_after = mm_gflops()

    print(f"torch {torch.__version__}, {args.threads} threads, batch {args.batch}, best of {args.repeats} "
          f"interleaved; malloc: {malloc}; taps: {'NCHW' if args.nchw_taps else 'channels-last'}; "
          f"4096^2 fp32 mm {mm_before:.0f} GFLOP/s before, {mm_after:.0f} after")
    print(f"{'variant':<10} {'params':>11} {'GFLOP/person':>13} | {'eval p/s':>8} {'upstream':>8} {'speed-up':>8} | "
          f"{'train p/s':>9} {'upstream':>8} {'speed-up':>8}")
    for name, r in results.items():
        print(f"{name:<10} {r['params']:>11,} {r['gflops_per_person']:>13.3f} | {r['ours_eval_persons_per_s']:>8.1f} "
              f"{r['upstream_eval_persons_per_s']:>8.1f} {r['eval_speedup']:>7.2f}x | "
              f"{r['ours_train_persons_per_s']:>9.1f} {r['upstream_train_persons_per_s']:>8.1f} "
              f"{r['train_speedup']:>7.2f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(threads=args.threads, batch=args.batch, malloc=malloc, nchw_taps=args.nchw_taps,
                           mm_gflops=[mm_before, mm_after], variants=results), f, indent=2)


if __name__ == "__main__":
    main()
