"""OCHuman and OCPose: configs, evaluation on the fixture against the official numbers, and the
prepare_data round trip (processed test files score like the results they were made from)."""
import json
from pathlib import Path

import pytest

from opec.datasets.training_pairs import MatchingRule
from opec.cli import prepare_data as prepare_data_cli
from opec.cli import test as test_cli
from opec.datasets.preparation import load_keypoint_gt, restrict_gt
from opec.config import load_config
from opec.evaluation import KeypointEvaluator
from tests.apis import weight_files

REPO_ROOT = Path(__file__).resolve().parents[2]

CONFIGS = {  # config -> (dataset, GT file name)
    "ochuman_val_opec_gcn": ("ochuman", "ochuman_coco_format_val_range_0.00_1.00.json"),
    "ochuman_test_opec_gcn": ("ochuman", "ochuman_coco_format_test_range_0.00_1.00.json"),
    "ocpose_opec_gcn": ("ocpose", "ocpose_test.json"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_configs_name_their_dataset_and_files(name):
    cfg = load_config(REPO_ROOT / "configs" / f"{name}.py")
    dataset, target = CONFIGS[name]
    assert cfg.test_data.dataset == dataset
    assert Path(cfg.test_data.target_json).name == target
    split = "test" if name != "ochuman_val_opec_gcn" else "val"
    assert Path(cfg.test_data.pred_json).name == f"test_{dataset}_{split}.json"
    assert Path(cfg.test_data.best_json).name == f"best_match_{dataset}_{split}.json"
    if dataset == "ocpose":
        MatchingRule(**cfg.data_preparation)
        assert [Path(a["json_file"]).name for a in cfg.train_data.annotations] == ["train_ocpose_train.json"]


def _cases(eval_cases_dir, dataset):
    cases = json.loads((eval_cases_dir / "cases.json").read_text())["cases"]
    return [c for c in cases if c["dataset"] == dataset]


def test_ochuman_evaluation_matches_the_official_numbers(eval_cases_dir):
    dataset = load_config(REPO_ROOT / "configs" / "ochuman_val_opec_gcn.py").test_data.dataset
    root = eval_cases_dir.parent
    cases = _cases(eval_cases_dir, "ochuman")
    assert cases
    for case in cases:
        metrics = KeypointEvaluator(root / case["gt"], dataset).evaluate(root / case["results"])
        for key, value in case["official"].items():
            if key in metrics:
                assert metrics[key] == pytest.approx(value, abs=1e-9), (case["name"], key)


@pytest.mark.parametrize("dataset", ["ochuman", "crowdpose"])
def test_prepared_test_file_scores_like_its_source(dataset, eval_cases_dir, tmp_path):
    """The 12-joint test file prepare_data writes (file-name image ids, crop boxes) gets the same
    OPEC-protocol AP/AR (all areas) as the full results it was made from."""
    root = eval_cases_dir.parent
    cases = [c for c in _cases(eval_cases_dir, dataset) if c["n_results"] <= 1000]  # keep it fast
    assert cases
    for case in cases:
        gt, results = root / case["gt"], root / case["results"]
        out = tmp_path / case["name"]
        assert prepare_data_cli.main(["--gt", str(gt), "--results", str(results),
                                      "--out-dir", str(out), "--name", "x"]) == 0
        prepared = json.loads((out / "test_x.json").read_text())
        assert len(prepared) == case["n_results"]
        assert all(len(p["keypoints"]) == 36 and isinstance(p["image_id"], str) for p in prepared)
        evaluator = KeypointEvaluator(gt, dataset, protocol="opec12", easy_medium_hard=False)
        expected = evaluator.evaluate(results)
        got = evaluator.evaluate(prepared)
        # Area-range metrics differ by design: with a 'bbox' key the evaluator (as pycocotools'
        # loadRes) takes a result's area from bbox[2] * bbox[3], and these boxes are corner format.
        keys = [k for k in expected if k not in ("APm", "APl", "ARm", "ARl")]
        assert {k: got[k] for k in keys} == pytest.approx({k: expected[k] for k in keys}, abs=1e-12)


def test_ocpose_style_split_lists(tmp_path):
    """Lists in the original's format (12-digit zero-padded ids + .jpg, one per line) split a GT."""
    images = [dict(id=i, file_name=f"{i:012d}.jpg", width=100, height=100) for i in range(1, 11)]
    annotations = [dict(id=i, image_id=i, bbox=[10, 10, 50, 80], iscrowd=0, num_keypoints=1,
                        keypoints=[30, 30, 2] + [0] * 39) for i in range(1, 11)]
    (tmp_path / "ocpose.json").write_text(json.dumps(dict(images=images, annotations=annotations,
                                                          categories=[dict(id=1, name="person")])))
    train = [f"{i:012d}.jpg" for i in range(1, 9)]
    (tmp_path / "train_list.txt").write_text("\n".join(train) + "\n")
    gt = load_keypoint_gt(tmp_path / "ocpose.json")
    subset, missing = restrict_gt(gt, prepare_data_cli.read_image_list(tmp_path / "train_list.txt"))
    assert missing == [] and sorted(subset.images) == list(range(1, 9))
    assert [a["image_id"] for a in subset.raw["annotations"]] == list(range(1, 9))
    _, missing = restrict_gt(gt, ["000000000011.jpg"])
    assert missing == ["000000000011.jpg"]


@pytest.mark.slow
def test_ochuman_config_end_to_end_with_tools_test(eval_cases_dir, fixtures_dir, tmp_path, capsys):
    """prepare_data on the OCHuman fixture, then tools/test.py with a config derived from
    configs/ochuman_val_opec_gcn.py (paths redirected), random refiner and test-written SPPE."""
    case = next(c for c in _cases(eval_cases_dir, "ochuman") if c["gt"].startswith("fixtures/ochuman"))
    root = eval_cases_dir.parent
    out = tmp_path / "processed"
    assert prepare_data_cli.main(["--gt", str(root / case["gt"]), "--results", str(root / case["results"]),
                                  "--out-dir", str(out), "--name", "ochuman_val"]) == 0
    sppe = weight_files.write_sppe(tmp_path / "duc_se.pth")
    checkpoint = weight_files.write_refiner(tmp_path / "best_checkpoint.pth")
    config = tmp_path / "ochuman_fixture.py"
    config.write_text(
        f"_base_ = [{str(REPO_ROOT / 'configs' / 'ochuman_val_opec_gcn.py')!r}]\n"
        f"test_data = dict(pred_json={str(out / 'test_ochuman_val.json')!r}, "
        f"best_json={str(out / 'best_match_ochuman_val.json')!r}, target_json={str(root / case['gt'])!r}, "
        f"img_dir={str(fixtures_dir / 'ochuman')!r}, num_workers=0)\n"
        f"model = dict(feature_net=dict(weights={str(sppe)!r}))\nfeature_cache = None\n")
    assert test_cli.main([str(config), "--checkpoint", str(checkpoint), "--initial", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    expected = KeypointEvaluator(root / case["gt"], "ochuman", protocol="opec12").evaluate(root / case["results"])
    initial_ap = next(line for line in printed.splitlines()[1:] if line.startswith("AP "))
    assert initial_ap.split()[1:] == [f"{expected['AP']:.4f}"] * 2
