"""Speed of the CrowdPose-val evaluation: this project vs pycocotools, faster-coco-eval, hotcoco, xthotcoco.

Every contender computes the same numbers -- AP, AP50, AP75, AP80, AP90, AR, AR50, AR75 and
AP_easy/medium/hard -- for case ``crowdpose_val_A`` of ``cases.json`` (1x) and for a generated
10x case (the GT images and results replicated under new image ids, written to a temporary
folder). The COCO-style peers are set up the way they reproduce the CrowdPose API: ``area = 0.53 *
w * h`` injected into every GT annotation, the 14 CrowdPose sigmas, and each crowdIndex subset
re-evaluated on its own images (xthotcoco does that itself in ``summarize``).

Each run is a fresh Python process for one contender and one case. It times

* **with load**: from the two file paths to the numbers (GT read and indexed, results read);
* **eval only**: then, in the same process, the evaluation again from the parsed results list
  with the GT already loaded (pycocotools-style ``loadRes`` included, on a copy made outside the
  timer, since it writes into the list).

Runs are interleaved (every repetition runs every contender once per case, in rotating order) so
all see the same machine load; min and median are reported, the growth factor (10x median /
1x median, eval only) and the project's ratio to hotcoco. Peers that cannot be imported are
reported as skipped.

Usage: python benchmarks/eval_speed.py [--cases ../shared/eval] [--repeats 5] [--scale 10]
    [--contenders opec,hotcoco,...] [--slow-repeats 2]
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import cpu_name  # benchmarks/common.py

CASE = "crowdpose_val_A"
DEFAULT_CASES = Path(__file__).resolve().parents[1].parent / "shared" / "eval"
CONTENDERS = ("opec", "hotcoco", "xthotcoco", "faster-coco-eval", "pycocotools")
SLOW = ("faster-coco-eval", "pycocotools")  # pure-Python matching: fewer repetitions at 10x
SPLIT = {"AP_easy": (-np.inf, 0.2), "AP_medium": (0.2, 0.8), "AP_hard": (0.8, np.inf)}
CROWDPOSE_SIGMAS = [.079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089, .079, .079]


# ----------------------------------------------------------------------------------------- workers
def _summary(precision: np.ndarray, recall: np.ndarray) -> dict[str, float]:
    """COCO-style numbers from precision [T, R, K, A, M] / recall [T, K, A, M] (area 'all')."""
    thresholds = np.linspace(0.5, 0.95, 10)

    def at(oks):
        return int(np.flatnonzero(np.isclose(thresholds, oks))[0])

    def mean(values):
        values = values[values > -1]
        return float(np.mean(values)) if values.size else -1.0

    out = {"AP": mean(precision[:, :, :, 0, -1]), "AR": mean(recall[:, :, 0, -1])}
    for oks in (0.5, 0.75, 0.8, 0.9):
        out[f"AP{round(oks * 100)}"] = mean(precision[at(oks), :, :, 0, -1])
    for oks in (0.5, 0.75):
        out[f"AR{round(oks * 100)}"] = mean(recall[at(oks), :, 0, -1])
    return out


def _crowdpose_gt(path: Path) -> tuple[dict, dict[str, list[int]]]:
    """GT dict with ``area = 0.53 * w * h`` injected, and the easy/medium/hard image ids."""
    with open(path, "rb") as handle:
        gt = json.load(handle)
    for ann in gt["annotations"]:
        ann["area"] = 0.53 * ann["bbox"][2] * ann["bbox"][3]
    split = {key: [image["id"] for image in gt["images"] if low <= image["crowdIndex"] < high]
             for key, (low, high) in SPLIT.items()}
    return gt, split


class Opec:
    def __init__(self):
        from opec.evaluation import KeypointEvaluator
        self.evaluator_class = KeypointEvaluator

    def load_gt(self, path):
        return self.evaluator_class(path, "crowdpose")

    def evaluate(self, gt, results):
        return gt.evaluate(results)


class CocoStyle:
    """pycocotools / faster-coco-eval / hotcoco: evaluate, accumulate, then each subset again."""

    def __init__(self, name):
        self.name = name
        if name == "pycocotools":
            from pycocotools.coco import COCO
            from pycocotools.cocoeval import COCOeval
            self.make_gt, self.make_eval = self._plain_gt(COCO), COCOeval
        elif name == "faster-coco-eval":
            from faster_coco_eval import COCO
            from faster_coco_eval.core.faster_eval_api import COCOeval_faster
            self.make_gt, self.make_eval = self._plain_gt(COCO), COCOeval_faster
        else:
            import hotcoco
            self.make_gt, self.make_eval = hotcoco.COCO, hotcoco.COCOeval

    @staticmethod
    def _plain_gt(coco_class):
        def make(data):
            coco = coco_class()
            coco.dataset = data
            coco.createIndex()
            return coco
        return make

    def load_gt(self, path):
        data, split = _crowdpose_gt(path)
        with contextlib.redirect_stdout(io.StringIO()):
            return self.make_gt(data), split

    def copy_results(self, results):
        return results if self.name == "hotcoco" else copy.deepcopy(results)

    def _run(self, coco_gt, coco_dt, image_ids=None):
        evaluator = self.make_eval(coco_gt, coco_dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = np.array(CROWDPOSE_SIGMAS) if self.name != "hotcoco" else CROWDPOSE_SIGMAS
        if image_ids is not None:
            evaluator.params.imgIds = image_ids
        evaluator.evaluate()
        evaluator.accumulate()
        return np.asarray(evaluator.eval["precision"]), np.asarray(evaluator.eval["recall"])

    def evaluate(self, gt, results):
        coco_gt, split = gt
        with contextlib.redirect_stdout(io.StringIO()):
            coco_dt = coco_gt.loadRes(results)
            out = _summary(*self._run(coco_gt, coco_dt))
            for key, image_ids in split.items():
                out[key] = float(np.mean(self._run(coco_gt, coco_dt, image_ids)[0][:, :, :, 0, :]))
        return out


class XtHotcoco:
    """xthotcoco's 'keypoints_crowd' evaluation (easy/medium/hard in ``summarize``, rounded)."""

    def __init__(self):
        import xthotcoco  # noqa: F401 (import outside the timed part)

    def load_gt(self, path):
        from xthotcoco import COCO
        with open(path, "rb") as handle:
            return COCO(ann_data=json.load(handle))

    def copy_results(self, results):
        return results

    def evaluate(self, gt, results):
        from xthotcoco import COCOeval
        with contextlib.redirect_stdout(io.StringIO()):
            evaluator = COCOeval(gt, gt.loadRes(results), "keypoints_crowd", CROWDPOSE_SIGMAS, use_area=False)
            evaluator.evaluate()
            evaluator.accumulate()
            out = _summary(np.asarray(evaluator.eval["precision"]), np.asarray(evaluator.eval["recall"]))
            evaluator.summarize()
        out.update(zip(SPLIT, (float(v) for v in evaluator.stats[6:9])))
        return out


def make_contender(name):
    if name == "opec":
        return Opec()
    if name == "xthotcoco":
        return XtHotcoco()
    return CocoStyle(name)


def worker(name: str, gt_path: Path, results_path: Path) -> dict:
    """One fresh-process run: with-load time, then eval-only time, and the numbers."""
    try:
        contender = make_contender(name)
    except ImportError as err:
        return {"skipped": f"cannot import ({err})"}
    start = time.perf_counter()
    gt = contender.load_gt(gt_path)
    metrics = contender.evaluate(gt, str(results_path))
    with_load = time.perf_counter() - start
    with open(results_path, "rb") as handle:
        results = json.load(handle)
    if hasattr(contender, "copy_results"):
        results = contender.copy_results(results)
    start = time.perf_counter()
    metrics_again = contender.evaluate(gt, results)
    eval_only = time.perf_counter() - start
    return {"with_load": with_load, "eval_only": eval_only, "metrics": metrics,
            "repeatable": metrics == metrics_again}


# ----------------------------------------------------------------------------------------- parent
def replicate(gt_path: Path, results_path: Path, scale: int, folder: Path) -> tuple[Path, Path]:
    """GT and results repeated ``scale`` times under new image (and annotation) ids."""
    gt = json.loads(gt_path.read_text())
    results = json.loads(results_path.read_text())
    step = max(image["id"] for image in gt["images"]) + 1
    ann_step = max(ann["id"] for ann in gt["annotations"]) + 1
    images, annotations, out = [], [], []
    for k in range(scale):
        images += [dict(image, id=image["id"] + k * step) for image in gt["images"]]
        annotations += [dict(ann, id=ann["id"] + k * ann_step, image_id=ann["image_id"] + k * step)
                        for ann in gt["annotations"]]
        out += [dict(result, image_id=result["image_id"] + k * step) for result in results]
    big_gt, big_results = folder / f"gt_x{scale}.json", folder / f"results_x{scale}.json"
    big_gt.write_text(json.dumps(dict(gt, images=images, annotations=annotations)))
    big_results.write_text(json.dumps(out))
    return big_gt, big_results


def run_one(name: str, gt: Path, results: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--worker", name, "--gt", str(gt), "--results", str(results)],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if proc.returncode != 0:
        last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit code {proc.returncode}"
        return {"skipped": f"failed: {last}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=Path(os.environ.get("OPEC_EVAL_CASES_DIR", DEFAULT_CASES)),
                        help="folder holding cases.json (paths inside relative to its parent)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slow-repeats", type=int, default=2,
                        help=f"repetitions of {', '.join(SLOW)} at the large scale")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--gt", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--results", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.gt, args.results)))
        return

    cases = json.loads((args.cases / "cases.json").read_text())["cases"]
    case = next(c for c in cases if c["name"] == CASE)
    gt_path, results_path = args.cases.parent / case["gt"], args.cases.parent / case["results"]
    names = [name.strip() for name in args.contenders.split(",") if name.strip()]
    with tempfile.TemporaryDirectory() as folder:
        big = replicate(gt_path, results_path, args.scale, Path(folder))
        inputs = {"1x": (gt_path, results_path), f"{args.scale}x": big}
        runs: dict[tuple[str, str], list[dict]] = {(n, s): [] for n in names for s in inputs}
        skipped: dict[str, str] = {}
        for repeat in range(args.repeats):
            order = names[repeat % len(names):] + names[:repeat % len(names)]
            for scale, (gt, results) in inputs.items():
                for name in order:
                    if name in skipped or (scale != "1x" and name in SLOW and repeat >= args.slow_repeats):
                        continue
                    run = run_one(name, gt, results)
                    if "skipped" in run:
                        skipped[name] = run["skipped"]
                    else:
                        runs[name, scale].append(run)
            print(f"repetition {repeat + 1}/{args.repeats} done", file=sys.stderr)

    large = f"{args.scale}x"
    print(f"case {CASE} (1x: {case['n_results']} results) and {large}; CPU: {cpu_name()}; "
          f"fresh process per run, {args.repeats} interleaved repetitions ({args.slow_repeats} for "
          f"{'/'.join(SLOW)} at {large}); seconds, median (min); all with AP_easy/medium/hard")
    header = (f"{'contender':<17} {'1x eval only':>16} {'1x with load':>16} {large + ' eval only':>17} "
              f"{large + ' with load':>17} {'growth':>7}  AP (official {case['official']['AP']:.10f})")
    print(header)
    medians: dict[tuple[str, str, str], float] = {}
    for name in names:
        if name in skipped:
            print(f"{name:<17} skipped: {skipped[name]}")
            continue
        cells = []
        for scale in inputs:
            for kind in ("eval_only", "with_load"):
                values = [run[kind] for run in runs[name, scale]]
                medians[name, scale, kind] = statistics.median(values)
                cells.append(f"{statistics.median(values):.3f} ({min(values):.3f})")
        growth = medians[name, large, "eval_only"] / medians[name, "1x", "eval_only"]
        ap = {run["metrics"]["AP"] for scale in inputs for run in runs[name, scale]}
        same = all(run["repeatable"] for scale in inputs for run in runs[name, scale])
        print(f"{name:<17} {cells[0]:>16} {cells[1]:>16} {cells[2]:>17} {cells[3]:>17} {growth:6.1f}x  "
              f"{', '.join(f'{v:.16f}' for v in sorted(ap))}{'' if same else ' (not repeatable!)'}")
    if "opec" in names and "hotcoco" in names and "opec" not in skipped and "hotcoco" not in skipped:
        ratios = [f"{scale} {kind.replace('_', ' ')} "
                  f"{medians['opec', scale, kind] / medians['hotcoco', scale, kind]:.2f}x"
                  for scale in inputs for kind in ("eval_only", "with_load")]
        print("project / hotcoco (median): " + ", ".join(ratios))
    if "opec" in names and "opec" not in skipped:
        first = runs["opec", "1x"][0]["metrics"]
        print("project's numbers at 1x: " + ", ".join(f"{k} {v!r}" for k, v in first.items()))


if __name__ == "__main__":
    main()
