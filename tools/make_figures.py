#!/usr/bin/env python
"""Make the README figures in show_imgs/ with the project's own drawing code.

    python tools/make_figures.py                      # show_imgs/pipeline.png
    python tools/make_figures.py --before-after demo_out/initial.json demo_out/refined.json \
        --images demo_images --image 103319.jpg       # + show_imgs/before_after.png

The before/after figure draws two results files (the same persons in the same order: the
initial poses and the refined ones, as tools/demo.py writes them) on one image.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from opec.visualization.diagram import pipeline_figure  # noqa: E402


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
        import importlib.util
        import os

        spec = importlib.util.spec_from_file_location("visualize_cli",
                                                      Path(__file__).with_name("visualize.py"))
        visualize = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(visualize)
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
    sys.exit(main())
