#!/usr/bin/env python
"""Make the README figures in show_imgs/ with the project's own drawing code.

    python tools/make_figures.py                      # show_imgs/pipeline.png
    python tools/make_figures.py --before-after demo_out/initial.json demo_out/refined.json \
        --images demo_images --image 103319.jpg       # + show_imgs/before_after.png

The pipeline figure is drawn with matplotlib (no photos). The before/after figure draws two
results files (the same persons in the same order: the initial poses and the refined ones, as
tools/demo.py writes them) on one image.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from opec.cli import visualize
from opec.visualization.curves import save_figure

REPO_ROOT = Path(__file__).resolve().parents[1]

# (title, detail lines, role); role picks the colour: input/output, AlphaPose stage, OPEC-Net.
_STAGES = [
    ("image", "any size, BGR", "io"),
    ("YOLOv3-SPP detector", "608×608 letterbox\nperson boxes + scores", "alphapose"),
    ("crops", "box enlarged 0.15/side\nwarped to 320×256", "alphapose"),
    ("SPPE: FastPose", "SE-ResNet-101 + DUC\n17 heatmaps 80×64\ntaps 20×16, 40×32, 80×64",
     "alphapose"),
    ("pose NMS", "initial poses, 17 joints + scores\n→ 12 body joints,\nbox-normalised",
     "alphapose"),
    ("cascaded feature\nadaptation", "decoder on the 3 taps\n12 heat maps → 12 points\n"
     "(integral or FC head)", "opec"),
    ("image-guided GCN", "initial joints (x, y, score)\n+ features sampled at points\n"
     "3 stages → refined x, y", "opec"),
    ("protocol + evaluator", "score < 0.2 → refined x, y\nbest-match transplant\n"
     "OKS AP → mAP.txt", "io"),
]
_COLOURS = {"io": ("#eef1f5", "#5b6b7f"), "alphapose": ("#e3eefc", "#2f6db5"),
            "opec": ("#fdeee0", "#d0650f")}
_LEGEND = [("alphapose", "AlphaPose stages (SPPE frozen while the refiner trains)"),
           ("opec", "OPEC-Net refiner (trained)"), ("io", "input / OPEC protocol and evaluation")]


def pipeline_figure(out_png: str | Path) -> Path:
    """Draw the image → detector → crops → SPPE → NMS → refiner → protocol/evaluator flow."""
    fig = Figure(figsize=(13, 5.0))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 13)
    ax.set_ylim(0, 5.0)  # 1 unit = 1 inch = 72 pt
    ax.axis("off")
    box_w, box_h, gap = 2.7, 1.3, 0.45
    title_line, detail_line = 0.22, 0.165  # line heights of the two font sizes, in units
    x0 = (13 - 4 * box_w - 3 * gap) / 2
    # Top row left to right, bottom row right to left: the reading order snakes down.
    centres = [(x0 + box_w / 2 + k * (box_w + gap), 3.5) for k in range(4)]
    centres += [(x0 + box_w / 2 + (3 - k) * (box_w + gap), 1.3) for k in range(4)]
    for (title, detail, role), (cx, cy) in zip(_STAGES, centres):
        face, edge = _COLOURS[role]
        ax.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.02,rounding_size=0.15",
                                    facecolor=face, edgecolor=edge, linewidth=2))
        n_title, n_detail = title.count("\n") + 1, detail.count("\n") + 1
        top = cy + (n_title * title_line + 0.1 + n_detail * detail_line) / 2  # centre the block
        ax.text(cx, top, title, ha="center", va="top", fontsize=11.5, fontweight="bold",
                color=edge, linespacing=1.0)
        ax.text(cx, top - n_title * title_line - 0.1, detail, ha="center", va="top",
                fontsize=9.5, color="#222222", linespacing=1.25)
    for k in range(len(centres) - 1):
        (xa, ya), (xb, yb) = centres[k], centres[k + 1]
        if ya == yb:  # same row
            step = box_w / 2 if xb > xa else -box_w / 2
            start, end = (xa + step, ya), (xb - step, yb)
        else:  # down the right edge
            start, end = (xa, ya - box_h / 2), (xb, yb + box_h / 2)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=18,
                                     color="#444444", linewidth=1.8))
    ax.text(6.5, 4.72, "OPEC-Net top-down pipeline (one person's journey)", ha="center",
            va="center", fontsize=14, fontweight="bold", color="#222222")
    # Training starts in the middle: processed annotations replace detector, crops and NMS.
    cx, cy = centres[5]
    ax.text(cx - box_w / 2 - 0.1, cy + box_h / 2 + 0.42,
            "training starts here: processed annotations give each person's crop box,\n"
            "initial joints and GT joints; the frozen SPPE gives the taps", ha="right",
            va="center", fontsize=9, style="italic", color="#7a4a12")
    ax.add_patch(FancyArrowPatch((cx - box_w / 2 - 0.05, cy + box_h / 2 + 0.42),
                                 (cx - box_w / 4, cy + box_h / 2 + 0.03), arrowstyle="-|>",
                                 mutation_scale=14, color="#d0650f", linewidth=1.4,
                                 connectionstyle="arc3,rad=-0.3"))
    for k, (role, label) in enumerate(_LEGEND):
        face, edge = _COLOURS[role]
        lx = (0.45, 5.3, 8.4)[k]
        ax.add_patch(FancyBboxPatch((lx, 0.12), 0.35, 0.22, boxstyle="round,pad=0.01",
                                    facecolor=face, edgecolor=edge, linewidth=1.5))
        ax.text(lx + 0.48, 0.23, label, va="center", fontsize=9, color="#333333")
    return save_figure(fig, out_png, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "show_imgs",
                        help="output folder (default show_imgs/)")
    parser.add_argument("--before-after", nargs=2, type=Path, metavar=("INITIAL", "REFINED"),
                        help="two results JSON files to draw as a before/after panel")
    parser.add_argument("--images", type=Path, help="image folder (with --before-after)")
    parser.add_argument("--image", help="the image file name to draw (with --before-after)")
    parser.add_argument("--gt", type=Path, help="GT json mapping numeric image ids to files")
    args = parser.parse_args(argv)
    if args.before_after and not (args.images and args.image):
        parser.error("--before-after needs --images and --image")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"wrote {pipeline_figure(args.out / 'pipeline.png')}")
    if args.before_after:
        initial, refined = args.before_after
        cli = ["--images", str(args.images), "--results", str(initial), "--after", str(refined),
               "--image", args.image, "--out", str(args.out)]
        if args.gt:
            cli += ["--gt", str(args.gt)]
        if visualize.main(cli) != 0:
            return 1
        os.replace(args.out / f"{Path(args.image).stem}.png", args.out / "before_after.png")
        print(f"wrote {args.out / 'before_after.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
