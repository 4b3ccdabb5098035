"""Speed of the occlusion-diagnosis report against the evaluation of the same files.

Both sides start from the files on disk, in the same process, alternating: the evaluation is
``KeypointEvaluator(GT, dataset).evaluate(RESULTS)`` (what ``tools/evaluate.py`` does: read and
check the GT and the results, evaluate with AP_easy/medium/hard); the report is ``opec-analyze``
without images (read and check both files, taxonomy, eight cumulative AP-impact evaluations on
all seven slices, HTML and summary.json written to a temporary folder). Imports happen before the
timing. Prints the best time of each over the repeats and the ratio (target: report <= 3x).

With ``--before`` the report also gets a before file (the same results again: the before / after
parts run in full) and the evaluation side evaluates both files.

Usage: python benchmarks/analysis_speed.py [--gt GT.json] [--results RESULTS.json] [--repeats 5] [--before]
Defaults: the CrowdPose val annotations and results case A of the shared reference folder.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

from common import cpu_name  # benchmarks/common.py
from opec.cli.analyze import main as analyze
from opec.evaluation import KeypointEvaluator

SHARED = Path(__file__).resolve().parents[1].parent / "shared"




def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=Path, default=SHARED / "fixtures" / "crowdpose_val" / "crowdpose_val.json")
    parser.add_argument("--results", type=Path, default=SHARED / "eval" / "crowdpose_preds_A.json")
    parser.add_argument("--dataset", default="crowdpose")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--before", action="store_true", help="time the before/after report (results twice)")
    args = parser.parse_args(argv)
    for path in (args.gt, args.results):
        if not path.is_file():
            parser.error(f"{path}: not found (pass --gt / --results)")

    def evaluation():
        evaluator = KeypointEvaluator(args.gt, args.dataset)
        for _ in range(2 if args.before else 1):
            evaluator.evaluate(args.results)

    with tempfile.TemporaryDirectory() as tmp:
        command = ["--dataset", args.dataset, "--gt", str(args.gt), "--results", str(args.results),
                   "--out", str(Path(tmp) / "report")] + (["--before", str(args.results)] if args.before else [])

        def report():
            with contextlib.redirect_stdout(io.StringIO()):
                if analyze(command) != 0:
                    raise SystemExit("opec-analyze failed")

        times = {"evaluation": [], "report": []}
        for _ in range(args.repeats):
            for name, run in (("evaluation", evaluation), ("report", report)):
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    print(f"CPU: {cpu_name()}")
    print(f"files: {args.gt} + {args.results}" + (" (before/after: results used twice)" if args.before else ""))
    print(f"evaluation  {best['evaluation']:.3f} s   (best of {args.repeats})")
    print(f"report      {best['report']:.3f} s   (best of {args.repeats})")
    print(f"ratio       {best['report'] / best['evaluation']:.2f}x   (target <= 3x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
