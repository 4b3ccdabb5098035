#!/usr/bin/env python
"""Make the README figures in show_imgs/ with the project's own drawing code.

    python tools/make_figures.py                      # show_imgs/pipeline.png, show_imgs/architecture.png
    python tools/make_figures.py --before-after demo_out/initial.json demo_out/refined.json \
        --images demo_images --image 103319.jpg       # + show_imgs/before_after.png

The pipeline and architecture figures are drawn with matplotlib (no photos); the architecture
figure lists what the registries hold when it is drawn. The before/after figure draws two
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


# (registry, config field that chooses from it, who asks it)
_REGISTRIES = [
    ("DETECTORS", "detector", "inference"),
    ("FEATURE_NETS", "model.feature_net, pose_net", "all"),
    ("REFINERS", "model.refiner", "all"),
    ("MODELS", "model", "all"),
    ("FEATURE_SOURCES", "model.fine_tune + feature_cache", "training, testing"),
    ("DATASETS", "test_data.dataset, train_data.annotations[].type", "all"),
]
_USERS = [
    ("train.sh / opec-train", "Trainer", "MODELS, FEATURE_SOURCES, DATASETS"),
    ("test.sh / opec-test", "ProtocolTester", "MODELS, FEATURE_SOURCES, DATASETS"),
    ("opec-demo", "TopDownPipeline", "DETECTORS, FEATURE_NETS, MODELS"),
    ("opec-evaluate / -analyze", "KeypointEvaluator", "DATASETS"),
]


def architecture_figure(out_png: str | Path) -> Path:
    """Draw config -> registries (with their current contents) -> the four entry points."""
    from opec import registry

    fig = Figure(figsize=(13, 6.2))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 13)
    ax.set_ylim(0, 6.2)
    ax.axis("off")
    ax.text(6.5, 5.9, "How a config becomes a run: one registry per swappable part", ha="center",
            va="center", fontsize=14, fontweight="bold", color="#222222")
    face, edge = _COLOURS["io"]
    ax.add_patch(FancyBboxPatch((0.3, 1.2), 2.4, 3.9, boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=face, edgecolor=edge, linewidth=2))
    ax.text(1.5, 4.85, "config (.py)", ha="center", va="top", fontsize=11.5, fontweight="bold", color=edge)
    ax.text(0.45, 4.4, "model = dict(\n  type='TopDownRefiner',\n  feature_net=dict(...),\n  refiner=dict(...),\n"
            "  fine_tune=False)\nfeature_cache = dict(...)\ntrain_data = dict(...)\ntest_data = dict(\n"
            "  dataset='crowdpose', ...)\ndetector / pose_net\n  (inference, optional)",
            ha="left", va="top", fontsize=8.5, family="monospace", color="#222222", linespacing=1.25)
    row_h, top = 0.72, 5.2
    face, edge = _COLOURS["alphapose"]
    for k, (name, field, _) in enumerate(_REGISTRIES):
        reg = getattr(registry, name)
        reg.import_from_location()
        members = ", ".join(sorted(reg.module_dict))
        y = top - (k + 1) * row_h
        ax.add_patch(FancyBboxPatch((3.5, y), 4.6, row_h - 0.12, boxstyle="round,pad=0.02,rounding_size=0.1",
                                    facecolor=face, edgecolor=edge, linewidth=1.6))
        ax.text(3.62, y + row_h - 0.22, name, ha="left", va="center", fontsize=10.5, fontweight="bold", color=edge)
        ax.text(3.62, y + 0.2, members, ha="left", va="center", fontsize=8.5, color="#222222")
        ax.text(8.02, y + row_h - 0.22, field, ha="right", va="center", fontsize=7.5, style="italic", color="#555555")
        ax.add_patch(FancyArrowPatch((2.75, 3.15), (3.45, y + (row_h - 0.12) / 2), arrowstyle="-|>",
                                     mutation_scale=11, color="#888888", linewidth=1.0))
    face, edge = _COLOURS["opec"]
    for k, (command, user, uses) in enumerate(_USERS):
        y = top - 0.25 - (k + 1) * 1.05
        ax.add_patch(FancyBboxPatch((9.0, y), 3.7, 0.86, boxstyle="round,pad=0.02,rounding_size=0.12",
                                    facecolor=face, edgecolor=edge, linewidth=1.8))
        ax.text(10.85, y + 0.64, user, ha="center", va="center", fontsize=11, fontweight="bold", color=edge)
        ax.text(10.85, y + 0.4, command, ha="center", va="center", fontsize=8.5, family="monospace", color="#222222")
        ax.text(10.85, y + 0.16, "asks " + uses, ha="center", va="center", fontsize=7.5, color="#555555")
        ax.add_patch(FancyArrowPatch((8.15, y + 0.43), (8.95, y + 0.43), arrowstyle="<|-", mutation_scale=12,
                                     color="#444444", linewidth=1.3))
    ax.text(6.5, 0.55, "opec.registry.build(REGISTRY, cfg, field): one-line error naming the field for an unknown "
            "type or argument.\nThe feature source (where the refiner's taps come from) is chosen once, by "
            "opec.engine.feature_sources.build_feature_source.", ha="center", va="center", fontsize=9,
            color="#333333")
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
    print(f"wrote {architecture_figure(args.out / 'architecture.png')}")
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
