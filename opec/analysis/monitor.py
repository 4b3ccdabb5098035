"""Per-epoch occlusion rates for training: how the joints OPEC-Net replaces fare before and after
refinement (logged to ``log.jsonl`` and visdom, group ``occlusion``)."""
from __future__ import annotations

import os

from opec.analysis.scene import Scene, Truth
from opec.analysis.taxonomy import classify
from opec.analysis.transitions import joint_states, rates, replaced_joints


class ReplacedJointRates:
    """Category rates of the replaced joints (initial joint score < 0.2).

    Args:
        gt: GT json path. dataset: evaluator dataset name. initial: the unrefined results list
            (or path). protocol: 'official' or 'opec12' (training evaluates with 'opec12').
    The GT and the initial results are classified once; :meth:`rates` classifies the refined
    results of an epoch.
    """

    def __init__(self, gt: str | os.PathLike, dataset: str, initial, protocol: str = "opec12"):
        self.truth = Truth.read(gt, dataset, protocol)
        scene = Scene.read(self.truth, initial)
        taxonomy = classify(scene)
        self.replaced = replaced_joints(scene, taxonomy)
        self.before = rates(joint_states(scene, taxonomy), self.replaced)

    def rates(self, refined) -> dict[str, float]:
        """{"before/<state>": rate, "after/<state>": rate} over the replaced joints; states are
        good, jitter, inversion, swap, miss and undetected."""
        scene = Scene.read(self.truth, refined)
        after = rates(joint_states(scene, classify(scene)), self.replaced)
        return {**{f"before/{k}": v for k, v in self.before.items()},
                **{f"after/{k}": v for k, v in after.items()}}
