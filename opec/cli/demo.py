"""Run the whole system (YOLOv3 -> SPPE -> pose NMS -> OPEC-Net) on an image, a folder or a video.

Writes to --out-dir: ``alphapose-results.json`` (AlphaPose results format: one entry per person
with image_id = image file name, or "<frame>.jpg" for a video; category_id 1; keypoints as
x, y, score triplets in the chosen joint order; score; bbox = corner-format crop box) and one
rendered PNG per image/frame in ``vis/`` (--before-after: initial and refined poses side by side);
with refinement also ``initial-results.json``, the same persons before refinement.
Nothing is written unless every input was processed; then these outputs replace those of an earlier
run in the same --out-dir (its ``vis/`` as a whole), so no stale result or picture is left.

  python tools/demo.py photo.jpg --checkpoint checkpoints/OPEC_GCN_CrowdPose_Test/best_checkpoint.pth
  python tools/demo.py frames/ --no-refine --format coco
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
from pathlib import Path


import cv2
import numpy as np

from opec.cli.errors import EXIT_BAD_INPUT, output_folder_problem
from opec.detection.detector import DEFAULT_WEIGHTS as DEFAULT_YOLO_WEIGHTS
from opec.keypoints import JOINT_SETS
from opec.runtime import retain_freed_memory
from opec.sppe.pose_nms import result_entry
from opec.sppe.weights import DEFAULT_SPPE_WEIGHTS

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")
RESULTS_NAME = "alphapose-results.json"
INITIAL_NAME = "initial-results.json"  # the same persons before refinement


class InputError(ValueError):
    """Unusable input; one line naming the path."""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("input", help="an image, a folder of images or a video file")
    p.add_argument("--out-dir", default="demo_out")
    p.add_argument("--config", help="refiner config (its model dict); default: the attention/integral model")
    p.add_argument("--checkpoint", help="OPEC-Net checkpoint (best_checkpoint.pth)")
    p.add_argument("--no-refine", action="store_true", help="AlphaPose poses only (no OPEC-Net)")
    p.add_argument("--format", choices=("crowdpose", "coco"), default="crowdpose",
                   help="output joint order: CrowdPose-14 or COCO-17")
    p.add_argument("--before-after", action="store_true",
                   help="render the initial and the refined poses side by side")
    p.add_argument("--yolo-weights", default=str(DEFAULT_YOLO_WEIGHTS))
    p.add_argument("--yolo-cfg", help="darknet cfg (default: the packaged yolov3-spp.cfg)")
    p.add_argument("--inp-dim", type=int, default=608, help="detector input size (multiple of 32)")
    p.add_argument("--sppe-weights", default=str(DEFAULT_SPPE_WEIGHTS))
    p.add_argument("--sppe-batch", type=int, default=80, help="crops per SPPE forward")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    return p.parse_args(argv)


def collect_inputs(path: Path):
    """(kind, items): ('images', [image paths]) or ('video', path); InputError for bad input."""
    if path.is_dir():
        images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise InputError(f"{path}: folder has no images (expected {', '.join(IMAGE_SUFFIXES)})")
        return "images", images
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return "images", [path]
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return "video", path
    raise InputError(f"{path}: unknown input type (expected an image {IMAGE_SUFFIXES}, "
                     f"a video {VIDEO_SUFFIXES} or a folder)")


def read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{path}: cannot read image (unreadable or not an image)")
    return image


def video_frames(path: Path):
    """(name, frame) for every frame; InputError when the video cannot be opened or is empty."""
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok:
            raise InputError(f"{path}: cannot read video (no decodable frame)")
        index = 0
        while ok:
            yield f"{index}.jpg", frame
            index += 1
            ok, frame = capture.read()
    finally:
        capture.release()


def frames_of(kind: str, items):
    if kind == "video":
        yield from video_frames(items)
    else:
        for path in items:
            yield path.name, read_image(path)


def frame_count(kind: str, items) -> int | None:
    if kind == "images":
        return len(items)
    capture = cv2.VideoCapture(str(items))
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
    capture.release()
    return count or None


def results_entries(name: str, persons: list[dict], key: str = "keypoints") -> list[dict]:
    """AlphaPose results entries of one image's pipeline persons (``key``: refined or initial joints)."""
    return [result_entry(name, p[key], p["score"], p["bbox"], decimals=4) for p in persons]


def render(image, persons: list[dict], joint_set: str, before_after: bool) -> np.ndarray:
    from opec.visualization import before_after_panel, draw_poses

    num_joints = JOINT_SETS[joint_set].num_joints
    after = np.stack([p["keypoints"] for p in persons]) if persons else np.zeros((0, num_joints, 3))
    if not before_after:
        return draw_poses(image, after, joint_set)
    before = (np.stack([p["initial_keypoints"] for p in persons]) if persons
              else np.zeros((0, num_joints, 3)))
    return before_after_panel(image, before, after, joint_set)


def run(args) -> int:
    kind, items = collect_inputs(Path(args.input))
    if not args.no_refine and not args.checkpoint:
        raise InputError("--checkpoint is required (an OPEC-Net best_checkpoint.pth), "
                         "or pass --no-refine for the AlphaPose poses alone")
    frames = frames_of(kind, items)
    try:
        first = next(frames)  # an unreadable first input fails before the networks are built
        return _process(args, kind, items, itertools.chain([first], frames))
    finally:
        frames.close()


def _process(args, kind, items, frames) -> int:
    from tqdm import tqdm

    from opec.apis.pipeline import build_pipeline, original_stages

    detector, pose_net = original_stages(args.yolo_weights, args.yolo_cfg, args.inp_dim, args.sppe_weights)
    pipeline = build_pipeline(args.config, detector=detector, pose_net=pose_net,
                              checkpoint=args.checkpoint, refine=not args.no_refine,
                              device=args.device, output_format=args.format,
                              sppe_batch=args.sppe_batch)
    out_dir = Path(args.out_dir).resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Everything is written next to out_dir first and moved in only after the last input.
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    try:
        (staging / "vis").mkdir()
        results, initial, names = [], [], []
        progress = tqdm(frames, total=frame_count(kind, items), unit="img",
                        disable=not sys.stderr.isatty())
        for name, image in progress:
            persons = pipeline(image)
            results += results_entries(name, persons)
            initial += results_entries(name, persons, "initial_keypoints")
            vis_name = Path(name).stem + ".png"
            if not cv2.imwrite(str(staging / "vis" / vis_name),
                               render(image, persons, args.format, args.before_after)):
                raise OSError(f"{staging / 'vis' / vis_name}: cannot write image")
            names.append(vis_name)
        outputs = {RESULTS_NAME: results}
        if not args.no_refine:
            outputs[INITIAL_NAME] = initial
        for file_name, entries in outputs.items():
            with open(staging / file_name, "w") as f:
                json.dump(entries, f)
        # This run's outputs replace the previous run's: its vis/ whole (removed with the staging
        # folder), and initial-results.json when this run has none (--no-refine).
        out_dir.mkdir(exist_ok=True)
        if (out_dir / "vis").is_dir():
            (out_dir / "vis").replace(staging / "previous-vis")
        (staging / "vis").replace(out_dir / "vis")
        for file_name in (RESULTS_NAME, INITIAL_NAME):
            if file_name in outputs:
                (staging / file_name).replace(out_dir / file_name)
            else:
                (out_dir / file_name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"{len(results)} persons in {len(names)} images; results: {out_dir / RESULTS_NAME}; "
          f"pictures: {out_dir / 'vis'}")
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = output_folder_problem(args.out_dir, "--out-dir")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    retain_freed_memory()  # large tensors are re-allocated every batch: keep their pages (opec/runtime.py)
    try:
        return run(args)
    except (InputError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

