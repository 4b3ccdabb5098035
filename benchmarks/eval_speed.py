"""Speed of the full CrowdPose-val evaluation: this project vs plain pycocotools set up for CrowdPose.

Both evaluate the same results list (case ``crowdpose_val_A`` of ``cases.json``) in the same
run. pycocotools is configured the way it reproduces the CrowdPose API: ``area = 0.53 * w * h``
injected into every GT annotation and the 14 CrowdPose sigmas; for AP_easy/medium/hard it
re-evaluates each crowdIndex subset, as the CrowdPose API does. GT loading is done once per
side, outside the timing (training reuses one evaluator); each timed run starts from the parsed
results list (pycocotools gets a fresh deep copy made outside the timer, since its loadRes
writes into the list). The two sides alternate, and the best time of each is reported.

Usage: python benchmarks/eval_speed.py [--cases ../shared/eval] [--repeats 5]
Prints both times (best of the repeats), the ratio and whether every number is identical.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import time
from pathlib import Path

import numpy as np

from opec.evaluation import KeypointEvaluator
from opec.keypoints import CROWDPOSE14

CASE = "crowdpose_val_A"
DEFAULT_CASES = Path(__file__).resolve().parents[1].parent / "shared" / "eval"


def pycocotools_crowdpose(coco_gt, results: list, split: dict[str, list[int]]) -> dict[str, float]:
    """CrowdPose-API numbers with plain pycocotools (``coco_gt`` built with ``area`` injected)."""
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(results)
        evaluator = COCOeval(coco_gt, coco_dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.array(CROWDPOSE14.sigmas)
        evaluator.evaluate()
        evaluator.accumulate()
        precision, recall = evaluator.eval["precision"], evaluator.eval["recall"]
        thresholds = evaluator.params.iouThrs

        def at(oks):
            return int(np.flatnonzero(np.isclose(thresholds, oks))[0])

        def mean(values):
            return float(np.mean(values[values > -1]))

        out = {"AP": mean(precision[:, :, 0, 0, 0]), "AR": mean(recall[:, 0, 0, 0])}
        for oks in (0.5, 0.75, 0.8, 0.9):
            out[f"AP{round(oks * 100)}"] = mean(precision[at(oks), :, 0, 0, 0])
        for oks in (0.5, 0.75):
            out[f"AR{round(oks * 100)}"] = mean(recall[at(oks), 0, 0, 0])
        for key, image_ids in split.items():
            evaluator.params.imgIds = image_ids
            evaluator.evaluate()
            evaluator.accumulate()
            out[key] = float(np.mean(evaluator.eval["precision"][:, :, :, 0, :]))
    return out


def _timed(function, argument):
    start = time.perf_counter()
    value = function(argument)
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=Path(os.environ.get("OPEC_EVAL_CASES_DIR", DEFAULT_CASES)),
                        help="folder holding cases.json (paths inside relative to its parent)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    cases = json.loads((args.cases / "cases.json").read_text())["cases"]
    case = next(c for c in cases if c["name"] == CASE)
    gt_path, results_path = args.cases.parent / case["gt"], args.cases.parent / case["results"]
    results = json.loads(results_path.read_text())

    ours = KeypointEvaluator(gt_path, "crowdpose")
    gt = json.loads(gt_path.read_text())
    for ann in gt["annotations"]:
        ann["area"] = 0.53 * ann["bbox"][2] * ann["bbox"][3]
    crowd = {image["id"]: image["crowdIndex"] for image in gt["images"]}
    split = {"AP_easy": [i for i, c in crowd.items() if c < 0.2],
             "AP_medium": [i for i, c in crowd.items() if 0.2 <= c < 0.8],
             "AP_hard": [i for i, c in crowd.items() if c >= 0.8]}

    try:
        from pycocotools.coco import COCO
    except ImportError:
        raise SystemExit("benchmarks/eval_speed.py compares with pycocotools: pip install -e '.[dev]'") from None

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()

    rows = []
    for label, split_used in (("full set only", {}), ("full set + easy/medium/hard", split)):
        opec_eval = ours if split_used else KeypointEvaluator(gt_path, "crowdpose", easy_medium_hard=False)
        ours_times, base_times = [], []
        for _ in range(args.repeats):  # interleaved, so both sides see the same machine load
            seconds, ours_m = _timed(opec_eval.evaluate, results)
            ours_times.append(seconds)
            seconds, base_m = _timed(lambda r, s=split_used: pycocotools_crowdpose(coco_gt, r, s),
                                     copy.deepcopy(results))
            base_times.append(seconds)
        ours_s, base_s = min(ours_times), min(base_times)
        identical = ours_m == base_m
        rows.append((label, ours_s, base_s, identical))
        if not identical:
            diffs = {k: (ours_m.get(k), base_m.get(k)) for k in set(ours_m) | set(base_m)
                     if ours_m.get(k) != base_m.get(k)}
            print(f"  {label}: differing numbers (ours, pycocotools): {diffs}")

    print(f"case {CASE}: {len(results)} results, {len(gt['images'])} images, {len(gt['annotations'])} GT persons; "
          f"best of {args.repeats}")
    print(f"{'evaluation':<30} {'opec (s)':>9} {'pycocotools (s)':>16} {'speed-up':>9}  identical numbers")
    for label, ours_s, base_s, identical in rows:
        print(f"{label:<30} {ours_s:9.3f} {base_s:16.3f} {base_s / ours_s:8.2f}x  {identical}")
    print(f"AP {ours_m['AP']!r} (official {case['official']['AP']!r})")


if __name__ == "__main__":
    main()
