"""Make OPEC-Net's processed annotations from a COCO-format keypoint dataset.

Initial poses come from an AlphaPose-style results file (``--results``) or from this project's
detector + SPPE run on the images (``--images`` with the weight files). Writes, in ``--out-dir``:

  train_<name>.json       training pairs {img_name, pair: [{score, yolo_bbox, gt, dt}]}
  test_<name>.json        every initial pose, test_compute_map++.json style (36 floats + crop box)
  best_match_<name>.json  the same format from --best-match-results (else a copy of test_<name>)

``--image-list`` restricts the GT to the listed file names (e.g. OCPose's train_list.txt) and
``--gt-out`` writes that restricted GT (the evaluation target). See docs/datasets.md for the
matching rule and the folder layout.

  python tools/prepare_data.py --gt crowdpose_train.json --results alphapose-results.json \
      --out-dir data/processed --name crowdpose_train
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


from opec.cli.errors import EXIT_BAD_INPUT, output_folder_problem
from opec.datasets.preparation import (
    DataPrepError, build_test_predictions, build_training_pairs, detections_from_pipeline,
    load_keypoint_gt, load_results, read_image_list, restrict_gt,
)
from opec.datasets.training_pairs import MatchingRule
from opec.detection.detector import DEFAULT_WEIGHTS as DEFAULT_YOLO_WEIGHTS
from opec.fileio import atomic_write_files
from opec.sppe.weights import DEFAULT_SPPE_WEIGHTS

_RULE_KEYS = ("oks_threshold", "min_gt_joints", "min_score")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--gt", required=True, help="COCO-format keypoint GT json (17 or 14 joints)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--results", help="AlphaPose-style results json with the initial poses")
    src.add_argument("--images", help="image folder: run this project's detector + SPPE")
    p.add_argument("--best-match-results",
                   help="results json for the best-match file (AlphaPose --matching output)")
    p.add_argument("--box-source", choices=("auto", "bbox", "keypoints"), default="auto",
                   help="crop box of a results entry: its corner-format 'bbox', or the AlphaPose-"
                        "enlarged box around its joints; auto = bbox when present (default)")
    p.add_argument("--out-dir", required=True)
    p.add_argument("--name", help="output name suffix (default: the GT file's stem)")
    p.add_argument("--image-list", help="text file of image file names to keep (one per line)")
    p.add_argument("--gt-out", help="write the (restricted) GT here as the evaluation target")
    p.add_argument("--config", help="config whose data_preparation dict sets the matching rule")
    p.add_argument("--oks-threshold", type=float, help="minimum OKS of a pair (default 0.5)")
    p.add_argument("--min-gt-joints", type=int,
                   help="minimum labelled body joints of a matchable GT person (default 1)")
    p.add_argument("--min-score", type=float, help="minimum detection score (default 0)")
    det = p.add_argument_group("detector + SPPE (with --images)")
    det.add_argument("--yolo-weights", default=str(DEFAULT_YOLO_WEIGHTS))
    det.add_argument("--yolo-cfg", help="darknet cfg (default: the packaged yolov3-spp.cfg)")
    det.add_argument("--inp-dim", type=int, default=608, help="detector input size")
    det.add_argument("--sppe-weights", default=str(DEFAULT_SPPE_WEIGHTS))
    det.add_argument("--device", default="cpu")
    return p.parse_args(argv)


def matching_rule(args) -> MatchingRule:
    """Defaults < the config's ``data_preparation`` dict < command-line flags."""
    values = {}
    if args.config:
        from opec.config import load_config

        cfg = load_config(args.config)
        section = cfg.get("data_preparation", {})
        unknown = set(section) - set(_RULE_KEYS)
        if unknown:
            raise DataPrepError(f"{args.config}: data_preparation has unknown keys {sorted(unknown)}; "
                                f"expected {list(_RULE_KEYS)}")
        values.update(section)
    for key in _RULE_KEYS:
        if getattr(args, key) is not None:
            values[key] = getattr(args, key)
    return MatchingRule(**values)


def _only(detections: dict, gt) -> dict:
    """The detections of the images in ``gt`` (results files may cover the whole dataset)."""
    return {image_id: det for image_id, det in detections.items() if image_id in gt.images}


def main(argv=None) -> int:
    args = parse_args(argv)
    problem = output_folder_problem(args.out_dir, "--out-dir")
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        rule = matching_rule(args)
        full_gt = gt = load_keypoint_gt(args.gt)
        if args.image_list:
            gt, missing = restrict_gt(full_gt, read_image_list(args.image_list))
            if missing:
                print(f"warning: {len(missing)} name(s) of {args.image_list} are not in {args.gt} "
                      f"(first: {missing[0]})", file=sys.stderr)
        if args.results:
            detections = _only(load_results(args.results, full_gt, args.box_source), gt)
        else:
            from tqdm import tqdm

            from opec.apis.pipeline import build_pipeline, original_stages

            detector, pose_net = original_stages(args.yolo_weights, args.yolo_cfg, args.inp_dim, args.sppe_weights)
            pipeline = build_pipeline(detector=detector, pose_net=pose_net, refine=False, device=args.device)
            detections = detections_from_pipeline(
                pipeline, gt, args.images,
                progress=lambda it: tqdm(it, desc="images", disable=not sys.stderr.isatty()))
        best = (_only(load_results(args.best_match_results, full_gt, args.box_source), gt)
                if args.best_match_results else detections)
        pairs, counts = build_training_pairs(gt, detections, rule)
        if not pairs:  # nothing to train on: an error rather than empty files
            source = args.results or args.images
            raise DataPrepError(f"{source}: none of the initial poses of {len(detections)} image(s) matches a "
                                f"person of {args.gt} ({counts['matchable']} matchable; rule {rule}); wrong GT "
                                "file, or results of other images?")
        test = build_test_predictions(gt, detections)
        best_match = build_test_predictions(gt, best)
    except (DataPrepError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    name = args.name or Path(args.gt).stem
    out = Path(args.out_dir)
    outputs = {out / f"train_{name}.json": pairs, out / f"test_{name}.json": test,
               out / f"best_match_{name}.json": best_match}
    if args.gt_out:
        outputs[Path(args.gt_out)] = gt.raw
    atomic_write_files(outputs)
    print(f"{counts['pairs']} training pairs from {counts['images']} images "
          f"({counts['matchable']} of {counts['gt_persons']} GT persons matchable; rule {rule}); "
          f"{len(test)} test predictions; written to {out}")
    return 0

