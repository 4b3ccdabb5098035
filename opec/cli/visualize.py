"""Draw poses from a results JSON (or the ground truth) onto images; optionally before/after.

    # skeletons of a results file (AlphaPose/COCO results format)
    python tools/visualize.py --images data/crowdpose/images --results test_results.json --out vis/
    # ground truth
    python tools/visualize.py --images data/crowdpose/images --gt crowdpose_test.json --out vis_gt/
    # before/after refinement: two results files with the same persons in the same order
    python tools/visualize.py --images IMGS --results initial.json --after refined.json --out cmp/

Image ids are mapped to files through --gt when given (``images[].file_name``); otherwise a string
id is taken as the file name ("103319.jpg", the upstream style) and a number as the file whose
name (without extension) is that number, e.g. 103319 -> 103319.jpg, 785 -> 000000000785.jpg.
The joint set (CrowdPose-14, COCO-17, OPEC-12) follows from the keypoint count. One PNG per
image is written to --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


import cv2
import numpy as np
from tqdm import tqdm

from opec.cli.errors import EXIT_BAD_INPUT, output_folder_problem
from opec.fileio import atomic_write_image
from opec.keypoints import JOINT_SETS, MAX_COORDINATE
from opec.visualization import before_after_panel, draw_poses

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
# Joint coordinates farther than this from the origin are no image pixels (OpenCV draws with int32
# coordinates); non-finite ones are allowed and mean "not drawn".


class VisualizeError(ValueError):
    """Bad input (one-line message naming the file and field)."""


def _load_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise VisualizeError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VisualizeError(f"{path}: not a readable JSON file ({exc})") from None


def _joint_set_for(length: int, where: str):
    for js in JOINT_SETS.values():
        if js.num_joints * 3 == length:
            return js
    sizes = sorted(js.num_joints * 3 for js in JOINT_SETS.values())
    raise VisualizeError(f"{where}: keypoints has {length} numbers; expected one of {sizes}")


def read_people(path: Path, gt_mode: bool) -> tuple[dict, object]:
    """image_id -> (P, J, 3) keypoints (file order kept), and the joint set."""
    data = _load_json(path)
    entries = data.get("annotations") if gt_mode and isinstance(data, dict) else data
    field = "annotations" if gt_mode else "the top-level list"
    if not isinstance(entries, list) or not entries:
        raise VisualizeError(f"{path}: {field} is missing or empty; expected person entries "
                             "with 'image_id' and 'keypoints'")
    people, joint_set = defaultdict(list), None
    for k, entry in enumerate(entries):
        where = f"{path}: {'annotations' if gt_mode else 'entry'}[{k}]"
        if not isinstance(entry, dict) or "image_id" not in entry or "keypoints" not in entry:
            raise VisualizeError(f"{where}: needs 'image_id' and 'keypoints'")
        kp = np.asarray(entry["keypoints"], dtype=np.float64).ravel()
        js = _joint_set_for(len(kp), where)
        xy = kp.reshape(js.num_joints, 3)[:, :2]
        far = np.flatnonzero((np.abs(xy) > MAX_COORDINATE).any(1))
        if len(far):
            value = float(xy[far[0]][np.argmax(np.abs(xy[far[0]]))])
            raise VisualizeError(f"{where}.keypoints: joint {int(far[0])} at {value:g}; expected image "
                                 f"pixels within ±{MAX_COORDINATE:g}")
        if joint_set is not None and js is not joint_set:
            raise VisualizeError(f"{where}: {js.name} keypoints after {joint_set.name} ones")
        joint_set = js
        people[entry["image_id"]].append(kp.reshape(js.num_joints, 3))
    return {i: np.stack(p) for i, p in people.items()}, joint_set


def image_files(images_dir: Path, gt_path: Path | None) -> dict:
    """image_id -> file path, from the GT's images list or from the folder's file names."""
    if gt_path is not None:
        gt = _load_json(gt_path)
        images = gt.get("images") if isinstance(gt, dict) else None
        if not isinstance(images, list):
            raise VisualizeError(f"{gt_path}: field 'images' is missing; expected a list")
        return {im["id"]: images_dir / im["file_name"] for im in images
                if isinstance(im, dict) and "id" in im and "file_name" in im}
    if not images_dir.is_dir():
        raise VisualizeError(f"{images_dir}: not a folder of images")
    files = {}
    for path in sorted(images_dir.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            files[path.name] = path
            if path.stem.isdigit():
                files[int(path.stem)] = path
    return files


def _write_png(path: Path, image: np.ndarray) -> None:
    try:
        atomic_write_image(path, image)
    except OSError as exc:
        raise VisualizeError(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, required=True, help="folder with the images")
    parser.add_argument("--results", type=Path, help="results JSON to draw (the 'before' side "
                        "with --after); without it the GT (--gt) is drawn")
    parser.add_argument("--after", type=Path, help="second results JSON: before/after panels")
    parser.add_argument("--gt", type=Path, help="COCO-format GT: image id -> file name")
    parser.add_argument("--out", type=Path, required=True, help="output folder for PNGs")
    parser.add_argument("--min-score", type=float, default=0.0,
                        help="skip persons whose result 'score' is below this")
    parser.add_argument("--joint-threshold", type=float, default=0.05,
                        help="joints scored below this are not drawn (GT: visibility 0)")
    parser.add_argument("--max-images", type=int, default=None, help="draw at most N images")
    parser.add_argument("--image", default=None,
                        help="draw only this image (its file name, e.g. 103319.jpg)")
    args = parser.parse_args(argv)
    problem = output_folder_problem(args.out, "--out")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.results is None and args.gt is None:
        parser.error("give --results (and optionally --after) or --gt")
    if args.after is not None and args.results is None:
        parser.error("--after needs --results (the 'before' side)")
    try:
        files = image_files(args.images, args.gt)
        source = args.results or args.gt
        people, joint_set = read_people(source, gt_mode=args.results is None)
        after = None
        if args.after is not None:
            after, after_set = read_people(args.after, gt_mode=False)
            if after_set is not joint_set:
                raise VisualizeError(f"{args.after}: {after_set.name} keypoints, but "
                                     f"{args.results} has {joint_set.name}")
        scores = _scores(args.results) if args.results and args.min_score > 0 else None
        ids = [i for i in people if i in files
               and (args.image is None or files[i].name == args.image)]
        missing = [i for i in people if i not in files]
        if not ids:
            wanted = f"{args.image} is not among" if args.image else "none of"
            raise VisualizeError(f"{args.images}: {wanted} the {len(people)} images of {source} "
                                 f"found (first missing ids: {missing[:3]})")
        if missing:
            print(f"warning: {len(missing)} images of {source} not in {args.images} "
                  f"(first: {missing[:3]}); drawing the other {len(ids)}", file=sys.stderr)
        ids = ids[:args.max_images] if args.max_images else ids
        args.out.mkdir(parents=True, exist_ok=True)
        for image_id in tqdm(ids, desc="drawing", unit="img", disable=not sys.stderr.isatty()):
            path = files[image_id]
            image = cv2.imread(str(path))
            if image is None:
                raise VisualizeError(f"{path}: cannot read the image")
            shown = people[image_id]
            keep = scores[image_id] >= args.min_score if scores else np.ones(len(shown), bool)
            if after is None:
                picture = draw_poses(image, shown[keep], joint_set, args.joint_threshold)
            else:
                after_kp = after.get(image_id)
                if after_kp is None or after_kp.shape != shown.shape:
                    got = 0 if after_kp is None else len(after_kp)
                    raise VisualizeError(f"{args.after}: image {image_id!r} has {got} persons, "
                                         f"{args.results} has {len(shown)}; the files must "
                                         "list the same persons in the same order")
                picture = before_after_panel(image, shown[keep], after_kp[keep], joint_set,
                                             score_threshold=args.joint_threshold)
            _write_png(args.out / f"{path.stem}.png", picture)
    except VisualizeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"wrote {len(ids)} images to {args.out}")
    return 0


def _scores(path: Path) -> dict:
    """image_id -> (P,) person scores of a results file (file order), for --min-score."""
    scores = defaultdict(list)
    for k, entry in enumerate(_load_json(path)):
        if "score" not in entry:
            raise VisualizeError(f"{path}: entry[{k}] has no 'score' (needed by --min-score)")
        scores[entry["image_id"]].append(float(entry["score"]))
    return {i: np.asarray(s) for i, s in scores.items()}

