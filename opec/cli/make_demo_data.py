"""Generate the demo's small synthetic crowd-pose dataset (a few MB, seconds on a CPU).

Images show several overlapping stick-figure people (textured limbs, torso and head) on a noisy
background, drawn back to front, so later people hide joints of earlier ones. Written in the layout
of OPEC-Net's processed data (docs/datasets.md):

  <out>/images/<id>.jpg
  <out>/train_process_datasets/train_demo.json      training list: img_name + pairs (score,
                                                    yolo_bbox, gt 12x3, dt 12x3), type crowdpose
  <out>/test_process_datasets/test_compute_map++.json   pose-NMS-style predictions with bbox
  <out>/test_process_datasets/pred_test_best_match.json "best match" predictions with bbox
  <out>/test_process_datasets/crowdpose_test.json       CrowdPose-format GT (14 joints, crowdIndex)

The "initial" joints imitate what occlusion does to AlphaPose: visible joints are close to the
truth with high scores, hidden joints are pulled onto the occluder (the same joint of the person in
front, or a far point) with scores below 0.2 -- exactly the joints OPEC-Net's protocol replaces.
The hidden positions are predictable from the visible skeleton (people share proportions and a
limited range of limb angles), so a refiner can learn to fix them.

Usage: python tools/make_demo_data.py --out data/demo [--train-images 80] [--test-images 24] [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import cv2
import numpy as np

from opec.cli.errors import EXIT_BAD_INPUT, output_folder_problem
from opec.fileio import atomic_write_json

NUM_BODY = 12
# CrowdPose order: 12 body joints, head (top), neck.
HEAD, NECK = 12, 13
LIMBS = ((0, 2), (2, 4), (1, 3), (3, 5), (6, 8), (8, 10), (7, 9), (9, 11), (12, 13))
IMAGE_SIZE = (320, 240)  # width, height


def make_person(rng: np.random.Generator, neck_xy, height: float) -> np.ndarray:
    """(14, 2) joint positions of a standing person (facing the camera: its left is image-right)."""
    h = height
    lean = math.radians(rng.uniform(-8, 8))
    down = np.array([math.sin(lean), math.cos(lean)])
    right = np.array([down[1], -down[0]])  # image +x when upright
    neck = np.asarray(neck_xy, dtype=np.float64)
    joints = np.zeros((14, 2))
    joints[NECK] = neck
    joints[HEAD] = neck - down * 0.14 * h
    joints[0] = neck + right * 0.12 * h + down * 0.03 * h   # left shoulder (image right)
    joints[1] = neck - right * 0.12 * h + down * 0.03 * h
    hip_center = neck + down * 0.32 * h
    joints[6] = hip_center + right * 0.08 * h
    joints[7] = hip_center - right * 0.08 * h

    def limb(start, side, angle_deg, length):
        # angle from straight down, positive = outward (away from the body's midline)
        a = math.radians(angle_deg)
        direction = down * math.cos(a) + side * right * math.sin(a)
        return start + direction * length

    for shoulder, elbow, wrist, side in ((0, 2, 4, 1.0), (1, 3, 5, -1.0)):
        upper = rng.uniform(10, 55)
        joints[elbow] = limb(joints[shoulder], side, upper, 0.17 * h)
        joints[wrist] = limb(joints[elbow], side, upper - rng.uniform(0, 50), 0.15 * h)
    for hip, knee, ankle, side in ((6, 8, 10, 1.0), (7, 9, 11, -1.0)):
        thigh = rng.uniform(0, 20)
        joints[knee] = limb(joints[hip], side, thigh, 0.24 * h)
        joints[ankle] = limb(joints[knee], side, thigh - rng.uniform(0, 15), 0.23 * h)
    return joints


def background(rng: np.random.Generator) -> np.ndarray:
    w, h = IMAGE_SIZE
    small = rng.integers(40, 200, size=(h // 16 + 1, w // 16 + 1, 3)).astype(np.uint8)
    image = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    noise = rng.normal(0, 12, size=image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def draw_person(image, labels, index, joints, height, rng):
    """Draw one person over ``image`` and mark its pixels with ``index`` in ``labels``."""
    color = tuple(int(c) for c in rng.integers(30, 230, size=3))
    stripe = tuple(int(255 - c) for c in color)
    thick = max(3, int(0.07 * height))
    mask = np.zeros(labels.shape, np.uint8)
    torso = np.round(joints[[0, 1, 7, 6]]).astype(np.int32)
    cv2.fillConvexPoly(image, torso, color)
    cv2.fillConvexPoly(mask, torso, 1)
    for a, b in LIMBS:
        pa, pb = tuple(np.round(joints[a]).astype(int)), tuple(np.round(joints[b]).astype(int))
        cv2.line(image, pa, pb, color, thick, cv2.LINE_AA)
        cv2.line(image, pa, pb, stripe, max(1, thick // 4), cv2.LINE_AA)
        cv2.line(mask, pa, pb, 1, thick)
    head = tuple(np.round(joints[HEAD]).astype(int))
    cv2.circle(image, head, int(0.07 * height), color, -1, cv2.LINE_AA)
    cv2.circle(mask, head, int(0.07 * height), 1, -1)
    for j in range(NUM_BODY):  # joint markers: a ring of the limb stripe colour
        cv2.circle(image, tuple(np.round(joints[j]).astype(int)), max(2, thick // 2), stripe, 1, cv2.LINE_AA)
    labels[mask > 0] = index


def make_image(rng: np.random.Generator):
    """An image with 3-4 overlapping people. Returns (image, people) where each person is a dict
    with ``joints`` (14,2), ``visible`` (14,) bool, ``inside`` (14,) bool, ``occluder`` (14,) int
    (index of the person covering the joint, -1 if none) and ``height``."""
    w, h = IMAGE_SIZE
    image = background(rng)
    labels = np.full((h, w), -1, np.int32)
    count = int(rng.integers(3, 5))
    x = rng.uniform(0.18, 0.3) * w
    people = []
    for k in range(count):
        height = rng.uniform(120, 170)
        neck = (x, rng.uniform(0.17 * h, h - 0.92 * height + 0.14 * height))
        joints = make_person(rng, neck, height)
        draw_person(image, labels, k, joints, height, rng)
        people.append({"joints": joints, "height": height})
        x += rng.uniform(0.07, 0.15) * w
        if x > 0.85 * w:
            x = rng.uniform(0.2, 0.4) * w
    for k, person in enumerate(people):
        pts = np.round(person["joints"]).astype(int)
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        owner = np.full(14, -1)
        owner[inside] = labels[pts[inside, 1], pts[inside, 0]]
        person["inside"] = inside
        person["visible"] = inside & (owner == k)
        person["occluder"] = np.where(inside & (owner > k), owner, -1)
    return image, people


def corrupt(rng: np.random.Generator, person: dict, people: list[dict]) -> np.ndarray:
    """AlphaPose-like initial joints (12, 3): x, y, score (see the module docstring)."""
    h = person["height"]
    gt = person["joints"][:NUM_BODY]
    dt = np.zeros((NUM_BODY, 3))
    for j in range(NUM_BODY):
        if person["visible"][j]:
            dt[j, :2] = gt[j] + rng.normal(0, 0.012 * h, 2)
            dt[j, 2] = rng.uniform(0.4, 1.0)
            continue
        occluder = person["occluder"][j]
        if occluder >= 0 and rng.random() < 0.7:   # the detector latches onto the person in front
            dt[j, :2] = people[occluder]["joints"][j] + rng.normal(0, 0.02 * h, 2)
        else:                                      # or onto some far point
            angle = rng.uniform(0, 2 * math.pi)
            dt[j, :2] = gt[j] + rng.uniform(0.2, 0.4) * h * np.array([math.cos(angle), math.sin(angle)])
        dt[j, 2] = rng.uniform(0.02, 0.19)
    return dt


def crop_box(joints: np.ndarray, rng: np.random.Generator) -> list[float]:
    """Detector box around the person, enlarged like AlphaPose's crop (15 % per side), clamped."""
    w, h = IMAGE_SIZE
    x0, y0 = joints.min(0)
    x1, y1 = joints.max(0)
    bw, bh = x1 - x0, y1 - y0
    jitter = rng.normal(0, 0.02, 4) * np.array([bw, bh, bw, bh])
    x0, y0, x1, y1 = np.array([x0 - 0.15 * bw, y0 - 0.15 * bh, x1 + 0.15 * bw, y1 + 0.15 * bh]) + jitter
    x0, y0 = max(0.0, x0), max(0.0, y0)
    x1, y1 = min(w - 1.0, x1), min(h - 1.0, y1)
    return [float(x0), float(y0), float(x1), float(y1)]


def gt_annotation(person: dict, image_id: int, ann_id: int) -> dict:
    joints = person["joints"]
    v = np.where(person["visible"], 2, np.where(person["inside"], 1, 0))
    kps = np.concatenate([joints, v[:, None]], axis=1)
    kps[v == 0, :2] = 0
    labelled = joints[v > 0]
    x0, y0 = labelled.min(0) - 0.05 * person["height"]
    x1, y1 = labelled.max(0) + 0.05 * person["height"]
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
            "area": float((x1 - x0) * (y1 - y0)), "num_keypoints": int((v > 0).sum()),
            "keypoints": [float(round(c, 2)) for c in kps.reshape(-1)]}


def crowd_index(people: list[dict]) -> float:
    """CrowdPose's crowd index: mean over people of (other people's joints in my box) / (my joints)."""
    ratios = []
    for k, person in enumerate(people):
        own = person["joints"][person["inside"]]
        x0, y0 = own.min(0)
        x1, y1 = own.max(0)
        others = sum(int(((p["joints"][:, 0] >= x0) & (p["joints"][:, 0] <= x1) &
                          (p["joints"][:, 1] >= y0) & (p["joints"][:, 1] <= y1) & p["inside"]).sum())
                     for i, p in enumerate(people) if i != k)
        ratios.append(others / max(len(own), 1))
    return float(np.mean(ratios))


def _write_json(obj, path: Path) -> None:
    atomic_write_json(path, obj)


def generate(out: Path, train_images: int, test_images: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    for sub in ("images", "train_process_datasets", "test_process_datasets"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    train, preds, best, gt_images, gt_anns = [], [], [], [], []
    for i in range(train_images + test_images):
        image_id = 100000 + i
        name = f"{image_id}.jpg"
        image, people = make_image(rng)
        if not cv2.imwrite(str(out / "images" / name), image, [cv2.IMWRITE_JPEG_QUALITY, 92]):
            raise OSError(f"{out / 'images' / name}: cannot write the image")
        if i < train_images:
            pairs = []
            for person in people:
                gt = np.concatenate([person["joints"][:NUM_BODY],
                                     np.where(person["visible"], 2, np.where(person["inside"], 1, 0))[:NUM_BODY, None]], 1)
                dt = corrupt(rng, person, people)
                pairs.append({"score": float(dt[:, 2].mean()), "yolo_bbox": crop_box(person["joints"], rng),
                              "gt": gt.round(2).tolist(), "dt": dt.round(3).tolist()})
            train.append({"img_name": name, "pair": pairs})
            continue
        gt_images.append({"id": image_id, "file_name": name, "width": IMAGE_SIZE[0],
                          "height": IMAGE_SIZE[1], "crowdIndex": round(crowd_index(people), 4)})
        for person in people:
            gt_anns.append(gt_annotation(person, image_id, len(gt_anns) + 1))
            box = crop_box(person["joints"], rng)
            dt = corrupt(rng, person, people)
            preds.append({"image_id": name, "category_id": 1, "keypoints": dt.round(3).reshape(-1).tolist(),
                          "score": float(dt[:, 2].mean()), "bbox": box})
            # the best-match run: another draw of the same errors, a slightly different box
            dt2 = corrupt(rng, person, people)
            box2 = (np.asarray(box) + rng.normal(0, 0.5, 4)).tolist()
            best.append({"image_id": name, "category_id": 1, "keypoints": dt2.round(3).reshape(-1).tolist(),
                         "score": float(dt2[:, 2].mean()), "bbox": box2})
    gt = {"images": gt_images, "annotations": gt_anns,
          "categories": [{"id": 1, "name": "person", "supercategory": "person",
                          "keypoints": ["left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
                                        "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                                        "right_knee", "left_ankle", "right_ankle", "head", "neck"],
                          "skeleton": [[a + 1, b + 1] for a, b in LIMBS]}]}
    _write_json(train, out / "train_process_datasets" / "train_demo.json")
    _write_json(preds, out / "test_process_datasets" / "test_compute_map++.json")
    _write_json(best, out / "test_process_datasets" / "pred_test_best_match.json")
    _write_json(gt, out / "test_process_datasets" / "crowdpose_test.json")
    return {"train_persons": sum(len(t["pair"]) for t in train), "test_persons": len(preds),
            "train_images": train_images, "test_images": test_images}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/demo", help="output folder (default data/demo)")
    parser.add_argument("--train-images", type=int, default=80)
    parser.add_argument("--test-images", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    problem = output_folder_problem(args.out, "--out")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.train_images < 1 or args.test_images < 1:
        print("make_demo_data: --train-images and --test-images must be >= 1", file=sys.stderr)
        return 2
    stats = generate(Path(args.out), args.train_images, args.test_images, args.seed)
    print(f"[demo data] {args.out}: {stats['train_images']} training images ({stats['train_persons']} persons), "
          f"{stats['test_images']} test images ({stats['test_persons']} persons)")
    return 0

