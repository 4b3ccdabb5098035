"""Every number of the report, as one JSON-ready dict (``summary.json``).

:func:`build_summary` runs the whole analysis: the taxonomy of each results file (overall, per
joint, per slice), the cumulative AP impact on every slice, and with a *before* file the
per-joint transition matrices (replaced and kept joints) and the persons whose OKS changed most.
"""
from __future__ import annotations

import numpy as np

from opec.analysis.impact import STEPS, Slices, ap_impact
from opec.analysis.scene import Scene, Truth
from opec.analysis.slices import crowd_levels, overlap_levels, visibility_levels
from opec.analysis.taxonomy import CATEGORIES, Taxonomy, category_counts, classify
from opec.analysis.transitions import (STATES, joint_states, person_oks, rates, replaced_joints,
                                       transition_matrix)

TOP_PERSONS = 8


def _count_block(counts: np.ndarray) -> dict:
    """{"joints", "counts", "rates"} of a (5,) category count vector."""
    total = int(counts.sum())
    return {"joints": total, "counts": dict(zip(CATEGORIES, map(int, counts))),
            "rates": {c: (float(n) / total if total else 0.0) for c, n in zip(CATEGORIES, counts)}}


def taxonomy_summary(scene: Scene, taxonomy: Taxonomy, slices: Slices,
                     visibility: dict[str, np.ndarray]) -> dict:
    """Counts and rates overall, per joint, and per crowd level, overlap level, visibility flag."""
    truth = scene.truth
    per_joint = category_counts(taxonomy.category)
    out = {"overall": _count_block(per_joint.sum(axis=0)),
           "per_joint": {name: _count_block(row) for name, row in zip(truth.joint_names, per_joint)},
           "slices": {}}
    images = truth.gt.image_ids[scene.detections.image_index]
    for name, ids in slices.images.items():
        out["slices"][name] = _count_block(category_counts(taxonomy.category, np.isin(images, ids)).sum(axis=0))
    matched = taxonomy.dt_gt >= 0
    for name, persons in slices.persons.items():
        select = matched & persons[np.maximum(taxonomy.dt_gt, 0)]
        out["slices"][name] = _count_block(category_counts(taxonomy.category, select).sum(axis=0))
    for name, joints in visibility.items():
        select = matched[:, None] & joints[np.maximum(taxonomy.dt_gt, 0)]
        out["slices"][name] = _count_block(category_counts(taxonomy.category, select).sum(axis=0))
    return out


def file_summary(scene: Scene, taxonomy: Taxonomy, slices: Slices, visibility: dict[str, np.ndarray]) -> dict:
    truth = scene.truth
    impact = ap_impact(scene, taxonomy, slices)
    return {
        "file": scene.source,
        "detections": scene.num_detections,
        "gt_persons": int(np.count_nonzero(~truth.ignore)),
        "matched_persons": int(np.count_nonzero(taxonomy.dt_gt >= 0)),
        "taxonomy": taxonomy_summary(scene, taxonomy, slices, visibility),
        "ap_impact": {step: {name: {"slice": name, **metrics} for name, metrics in impact[step].items()}
                      for step in STEPS},
    }


def _slice_names(slices: Slices) -> list[str]:
    return ["all"] + list(slices.images) + list(slices.persons)


def _transitions(truth: Truth, states_before: np.ndarray, states_after: np.ndarray, replaced: np.ndarray) -> dict:
    out = {"states": list(STATES)}
    for name, select in (("replaced", replaced), ("kept", ~replaced)):
        matrix = transition_matrix(states_before, states_after, select)
        out[name] = {"total": matrix.sum(axis=0).tolist(),
                     "per_joint": {joint: m.tolist() for joint, m in zip(truth.joint_names, matrix)},
                     "rates_before": rates(states_before, select), "rates_after": rates(states_after, select)}
    return out


def _persons(truth: Truth, before: Scene, before_tax: Taxonomy, after: Scene, after_tax: Taxonomy,
             top: int) -> dict:
    """The GT persons whose OKS (with the detection matched at 0.1) rose / fell most."""
    oks_before, oks_after = person_oks(before, before_tax), person_oks(after, after_tax)
    change = oks_after - oks_before
    valid = np.flatnonzero(~np.isnan(change))
    order = valid[np.lexsort((valid, -change[valid]))]

    def pose(scene: Scene, taxonomy: Taxonomy, g: int):
        rows = np.flatnonzero(taxonomy.dt_gt == g)
        return scene.xy[rows[0]].tolist() if len(rows) else None

    def entry(g: int) -> dict:
        return {"annotation": int(g), "image_id": int(truth.gt.image_ids[truth.gt.image_index[g]]),
                "oks_before": float(oks_before[g]), "oks_after": float(oks_after[g]), "change": float(change[g]),
                "before_keypoints": pose(before, before_tax, g), "after_keypoints": pose(after, after_tax, g)}

    helped = [entry(g) for g in order[:top] if change[g] > 0]
    hurt = [entry(g) for g in order[::-1][:top] if change[g] < 0]
    return {"helped": helped, "hurt": hurt, "improved": int(np.count_nonzero(change[valid] > 0)),
            "degraded": int(np.count_nonzero(change[valid] < 0)),
            "mean_change": float(change[valid].mean()) if len(valid) else 0.0}


def build_summary(truth: Truth, results: Scene, before: Scene | None = None, top: int = TOP_PERSONS) -> dict:
    """The report's numbers for ``results`` (and ``before``) against ``truth``."""
    slices = Slices(crowd_levels(truth), {f"overlap {name}": mask for name, mask in overlap_levels(truth).items()})
    visibility = visibility_levels(truth)
    taxonomy = classify(results)
    summary = {
        "dataset": truth.dataset, "protocol": truth.protocol, "gt": str(truth.gt.path),
        "joints": list(truth.joint_names), "categories": list(CATEGORIES), "steps": list(STEPS),
        "slices": _slice_names(slices),
        "slice_sizes": {**{name: int(len(ids)) for name, ids in slices.images.items()},
                        **{name: int(np.count_nonzero(mask & ~truth.ignore))
                           for name, mask in slices.persons.items()}},
        "visibility_flags": list(visibility),
        "files": {"results": file_summary(results, taxonomy, slices, visibility)},
    }
    if before is not None:
        before_tax = classify(before)
        summary["files"]["before"] = file_summary(before, before_tax, slices, visibility)
        states_before, states_after = joint_states(before, before_tax), joint_states(results, taxonomy)
        summary["transitions"] = _transitions(truth, states_before, states_after, replaced_joints(before, before_tax))
        summary["persons"] = _persons(truth, before, before_tax, results, taxonomy, top)
    return summary
