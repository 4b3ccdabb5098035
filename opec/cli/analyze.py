"""``opec-analyze`` / ``python tools/analyze.py``: the occlusion diagnosis report.

    opec-analyze --dataset crowdpose --gt GT.json --results refined.json [--before initial.json]
        [--protocol official|opec12] [--images DIR] [--top 8] --out report/

Writes ``report/index.html`` and ``report/summary.json`` (docs/analysis.md). Bad input gives one
line naming the file and field on stderr, exit code 2 and no report folder; every input is
checked before the analysis runs.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from opec.evaluation.keypoint_ap import DATASETS, PROTOCOLS
from opec.evaluation.inputs import EvaluationError, read_json

EXIT_BAD_INPUT = 2


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="opec-analyze", description=(
        "Occlusion diagnosis: keypoint error taxonomy, AP impact of each error type, occlusion slices "
        "and before/after refinement transitions (docs/analysis.md)."))
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--gt", required=True, type=Path, help="COCO-format ground-truth JSON")
    parser.add_argument("--results", required=True, type=Path, help="results JSON to diagnose (e.g. refined)")
    parser.add_argument("--before", type=Path, help="results JSON before refinement (enables the before/after parts)")
    parser.add_argument("--protocol", default="official", choices=PROTOCOLS)
    parser.add_argument("--images", type=Path, help="image folder (GT images[].file_name): draws the person gallery")
    parser.add_argument("--top", type=int, default=8, help="persons per gallery group (default 8)")
    parser.add_argument("--out", required=True, type=Path, help="report folder to write (replaced if it is one)")
    return parser.parse_args(argv)


def check_out(out: Path) -> None:
    """The report folder can be written: its parent exists, and ``out`` is absent, empty or an
    earlier report."""
    if not out.parent.is_dir():
        raise EvaluationError(f"{out}: --out: folder {out.parent} does not exist")
    if out.exists():
        if not out.is_dir():
            raise EvaluationError(f"{out}: --out: exists and is not a folder")
        if any(out.iterdir()) and not (out / "summary.json").is_file():
            raise EvaluationError(f"{out}: --out: folder is not empty and holds no earlier report (summary.json); "
                                  "not replacing it")


def image_files(truth, images: Path) -> dict[int, Path]:
    """{image id: path} for every GT image; each needs ``file_name`` and an existing file."""
    if not images.is_dir():
        raise EvaluationError(f"{images}: --images: not a folder")
    # The evaluator keeps ids and names, not the images list: read it again for the file order.
    out = {}
    for i, image in enumerate(read_json(truth.gt.path, "ground-truth")["images"]):
        name = image.get("file_name")
        if not isinstance(name, str):
            raise EvaluationError(f"{truth.gt.path}: images[{i}].file_name: missing; --images needs it")
        path = images / name
        if not path.is_file():
            raise EvaluationError(f"{truth.gt.path}: images[{i}].file_name: {name!r} not found in {images}")
        out[image["id"]] = path
    return out


def gallery(summary: dict, truth, files: dict[int, Path]) -> dict[int, str]:
    """{GT annotation: PNG data URI} for the persons of the summary's helped / hurt lists."""
    import cv2
    import numpy as np

    from opec.analysis.gallery import person_crop, png_data_uri
    from opec.keypoints import JOINT_SETS

    names = truth.joint_names
    skeleton = next(js.skeleton for js in JOINT_SETS.values() if js.joints == names)
    out, cache = {}, {}
    for person in summary["persons"]["helped"] + summary["persons"]["hurt"]:
        g, image_id = person["annotation"], person["image_id"]
        if image_id not in cache:
            image = cv2.imread(str(files[image_id]), cv2.IMREAD_COLOR)
            if image is None:
                raise EvaluationError(f"{files[image_id]}: --images: not a readable image")
            cache[image_id] = image
        crop = person_crop(cache[image_id], truth.gt.keypoints[g], truth.gt.boxes[g], skeleton,
                           None if person["before_keypoints"] is None else np.array(person["before_keypoints"]),
                           None if person["after_keypoints"] is None else np.array(person["after_keypoints"]))
        out[g] = png_data_uri(crop)
    return out


def run(args: argparse.Namespace) -> Path:
    from opec.analysis.report import render_html, write_report
    from opec.analysis.scene import Scene, Truth
    from opec.analysis.summary import build_summary

    if args.top < 0:
        raise EvaluationError(f"--top: expected a number >= 0, got {args.top}")
    check_out(args.out)
    truth = Truth.read(args.gt, args.dataset, args.protocol)
    files = image_files(truth, args.images) if args.images is not None else None
    results = Scene.read(truth, args.results)
    before = Scene.read(truth, args.before) if args.before is not None else None
    summary = build_summary(truth, results, before, args.top)
    images = gallery(summary, truth, files) if files is not None and before is not None else None
    return write_report(args.out, summary, render_html(summary, images))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        out = run(args)
    except EvaluationError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as err:  # e.g. --out not writable
        print(f"error: {err.filename or args.out}: {err.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {out / 'index.html'} and {out / 'summary.json'}")
    return 0
