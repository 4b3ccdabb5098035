"""The original evaluation protocol (docs/training.md), run after every epoch and by ``test.sh``.

1. Refine every predicted person of ``test_compute_map++.json``: the last GCN stage's (x̂, ŷ),
   mapped back to image pixels with the inverse box normalisation.
2. Replace only the joints whose AlphaPose score is < 0.2 (scores unchanged) -> "without best match".
3. Transplant the refined persons into the best-match predictions by box IoU > 0.9 -> "best match".
4. Score both with the 12-joint CrowdPose AP (``KeypointEvaluator(..., protocol='opec12')``).

Under ``torchrun`` every rank refines a contiguous share of the persons; the refined joints are
gathered once on rank 0, which evaluates and broadcasts the two APs.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from opec.data import crop as crop_module
from opec.data.annotations import read_predictions
from opec.data.datasets import TestDataset, collate_persons
from opec.engine import distributed as dist_utils
from opec.engine.feature_sources import build_feature_source
from opec.engine.progress import Progress
from opec.evaluation import KeypointEvaluator, protocol
from opec.evaluation.protocol import BEST_MATCH_IOU, REPLACE_THRESHOLD
from opec.keypoints import OPEC12
from opec.refiner import build_model


@torch.no_grad()
def refine_persons(model, dataset: TestDataset, model_input, device, batch_size: int = 60,
                   num_workers: int = 0) -> np.ndarray | None:
    """Refined joints (N,12,2) in image pixels for all N persons of ``dataset`` (rank 0; None on
    other ranks). ``model_input(batch) -> features or crops`` supplies the model's second input."""
    was_training = model.training
    model.eval()
    n, rank, world = len(dataset), dist_utils.rank(), dist_utils.world_size()
    share = list(range(rank * n // world, (rank + 1) * n // world))
    loader = DataLoader(Subset(dataset, share), batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, collate_fn=collate_persons)
    parts = []
    with Progress(len(share), "refine", "person") as bar:
        for batch in loader:
            output = model(batch["joints"].to(device), model_input(batch))
            last = output.stages[-1].float().cpu().numpy()  # (P,12,2) box-normalised, last GCN stage
            boxes = batch["boxes"].numpy().astype(np.float64)
            parts.append(crop_module.denormalize_from_box(last, boxes[:, :2], boxes[:, 2:4]))
            bar.update(len(last))
    model.train(was_training)
    mine = np.concatenate(parts) if parts else np.zeros((0, OPEC12.num_joints, 2))
    gathered = dist_utils.gather_to_main(mine)
    return None if gathered is None else np.concatenate(gathered)


def protocol_results(dataset: TestDataset, refined_xy: np.ndarray | None,
                     best_match: list[dict]) -> tuple[list[dict], list[dict]]:
    """The two results lists of the protocol: (without best match, with best match).

    ``refined_xy`` None gives the unrefined AlphaPose predictions (the "initial" numbers).
    """
    if refined_xy is None:
        plain = copy.deepcopy(dataset.predictions)
    else:
        joints = protocol.replace_low_confidence(dataset.initial, refined_xy, REPLACE_THRESHOLD)
        plain = []
        for entry, kps in zip(dataset.predictions, joints):
            entry = dict(entry)
            entry["keypoints"] = [float(v) for v in kps.reshape(-1)]
            plain.append(entry)
    return plain, protocol.transplant_best_match(plain, best_match, BEST_MATCH_IOU)


def evaluate_protocol(evaluator, dataset: TestDataset, refined_xy, best_match) -> tuple[dict, dict]:
    """Full metric dicts (without best match, with best match)."""
    plain, best = protocol_results(dataset, refined_xy, best_match)
    return evaluator.evaluate(plain), evaluator.evaluate(best)


class ProtocolTester:
    """The test protocol of a config on its test data alone (what ``test.sh`` runs): the model and
    its feature source as training built them -- so the numbers equal the run's ``mAP.txt`` -- the
    test predictions, the best-match file and the evaluator.

    ``cache_dir``: the run's work dir, whose disk feature cache is reused when it matches.
    """

    def __init__(self, cfg, device, cache_dir):
        test = cfg.test_data
        self.device = torch.device(device)
        self.model = build_model(cfg.model).to(self.device)
        self.features = build_feature_source(cfg, self.model, self.device, cache_dir)
        self.dataset = TestDataset(test.pred_json, test.img_dir, crops=self.features.needs_crops,
                                   dataset=test.get("dataset", "crowdpose"))
        self.best_match = read_predictions(test.best_json)
        self.evaluator = KeypointEvaluator(test.target_json, test.get("dataset", "crowdpose"), protocol="opec12",
                                           convention=test.get("convention", "official"))
        self.features.attach("test", self.dataset, [test.pred_json])
        self.batch_size = int(test.get("batch_size", 60))
        self.num_workers = int(test.get("num_workers", 4)) if self.features.needs_crops else 0

    def initial(self) -> tuple[dict, dict]:
        """Metrics of the unrefined predictions (without best match, with best match)."""
        return self.scores(None)

    def refine(self, checkpoint) -> np.ndarray:
        """Refined joints (N,12,2) in image pixels with the weights of ``checkpoint``."""
        self.model.load_checkpoint(checkpoint)
        return refine_persons(self.model, self.dataset, lambda batch: self.features(batch, "test"),
                              self.device, self.batch_size, self.num_workers)

    def results(self, refined_xy: np.ndarray | None) -> tuple[list[dict], list[dict]]:
        """The two results lists the protocol scores (``refined_xy`` None: the initial poses)."""
        return protocol_results(self.dataset, refined_xy, self.best_match)

    def scores(self, refined_xy: np.ndarray | None) -> tuple[dict, dict]:
        """Metrics (without best match, with best match) of ``refined_xy`` (None: the initial poses)."""
        return evaluate_protocol(self.evaluator, self.dataset, refined_xy, self.best_match)

    def evaluate(self, checkpoint) -> tuple[dict, dict]:
        """Metrics of ``checkpoint``'s refinement (without best match, with best match)."""
        return self.scores(self.refine(checkpoint))
