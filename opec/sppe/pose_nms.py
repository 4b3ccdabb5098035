"""AlphaPose's parametric pose NMS (``pPose_nms.pose_nms``) and its results-JSON writer.

Per image, with detector boxes (not the enlarged crop boxes) and decoded poses:

1. joint scores equal to 0 become 1e-5; ref_dist = ALPHA * max(box w, h); human score = mean joint score.
2. repeatedly pick the remaining pose with the highest human score (first on ties) and remove every
   remaining pose j (the pick included) with
   simi_j = sum_k [d_jk <= 1] tanh(s_pick,k / DELTA1) tanh(s_j,k / DELTA1) + MU sum_k exp(-d_jk / DELTA2)
   > GAMMA, or with #{k : d_jk <= min(ref_dist_pick, 7)} >= MATCH_THRESHOLD; the removed set is the
   pick's cluster (d_jk: Euclidean distance of joint k in pixels, not squared).
3. per pick (descending human score): drop it if its best joint score < SCORE_THRESHOLD; merge its
   cluster -- joints within min(ref_dist_pick, 15) px of the pick's joint, weights w = joint score:
   position = sum w p / sum w, score = sum w^2 / sum w; drop it if the best merged score <
   SCORE_THRESHOLD or the merged pose's area test fails (AREA_THRESHOLD 0: never);
   keypoints = merged - 0.3, proposal score = mean + box score + 1.25 max of the merged scores.
"""
from __future__ import annotations

import os

import numpy as np
import torch

from opec.fileio import atomic_write_json

DELTA1 = 1.0
MU = 1.7
DELTA2 = 2.65
GAMMA = 22.48
SCORE_THRESHOLD = 0.3
MATCH_THRESHOLD = 5
AREA_THRESHOLD = 0.0
ALPHA = 0.1
ZERO_SCORE = 1e-5
SCORE_DISTANCE = 1.0  # px: joints this close count in the score term of simi
MATCH_DISTANCE_CAP = 7.0
MERGE_DISTANCE_CAP = 15.0
KEYPOINT_OFFSET = 0.3
MAX_SCORE_WEIGHT = 1.25


def _parametric_similarity(pick: int, coords: torch.Tensor, scores: torch.Tensor,
                           ref_dist: torch.Tensor) -> torch.Tensor:
    """Boolean (M,): which of the M candidates the pick suppresses (coords (M, J, 2), scores (M, J))."""
    dist = torch.linalg.vector_norm(coords[pick] - coords, dim=-1)  # (M, J)
    close = dist <= SCORE_DISTANCE
    score_term = torch.where(close, torch.tanh(scores[pick] / DELTA1) * torch.tanh(scores / DELTA1), 0.0)
    simi = score_term.sum(dim=1) + MU * torch.exp(-dist / DELTA2).sum(dim=1)
    matches = (dist / torch.clamp(ref_dist[pick], max=MATCH_DISTANCE_CAP) <= 1).sum(dim=1)
    return (simi > GAMMA) | (matches >= MATCH_THRESHOLD)


def pose_nms(boxes, box_scores, pose_coords, pose_scores) -> list[dict]:
    """Parametric pose NMS over the N candidates of one image.

    boxes (N, 4) detector (x1, y1, x2, y2) image px; box_scores (N, 1); pose_coords (N, J, 2) image
    px; pose_scores (N, J, 1). Inputs are not modified. Returns the kept persons in pick order, each a
    dict: 'keypoints' (J, 2), 'kp_score' (J, 1), 'proposal_score' (1,), 'bbox' (4,) (the pick's
    detector box) and 'index' (the pick's row in the inputs).
    """
    coords = torch.as_tensor(pose_coords, dtype=torch.float32)
    boxes = torch.as_tensor(boxes, dtype=torch.float32, device=coords.device).reshape(-1, 4)
    box_scores = torch.as_tensor(box_scores, dtype=torch.float32, device=coords.device).reshape(-1)
    num, joints = coords.shape[:2]
    scores = torch.as_tensor(pose_scores, dtype=torch.float32, device=coords.device).reshape(num, joints)
    scores = torch.where(scores == 0, ZERO_SCORE, scores)
    size = boxes[:, 2:] - boxes[:, :2]
    ref_dist = ALPHA * torch.maximum(size[:, 0], size[:, 1])
    human_scores = scores.mean(dim=1)

    remaining = torch.arange(num, device=coords.device)
    clusters = []
    while remaining.numel():
        local = int(torch.argmax(human_scores[remaining]))
        suppressed = _parametric_similarity(local, coords[remaining], scores[remaining], ref_dist[remaining])
        suppressed[local] = True  # always true through the MU term; explicit for degenerate boxes
        clusters.append((int(remaining[local]), remaining[suppressed]))
        remaining = remaining[~suppressed]

    results = []
    for pick, members in clusters:
        if scores[pick].max() < SCORE_THRESHOLD:
            continue
        merged, merged_scores = _merge(coords[pick], coords[members], scores[members],
                                       torch.clamp(ref_dist[pick], max=MERGE_DISTANCE_CAP))
        if merged_scores.max() < SCORE_THRESHOLD:
            continue
        extent = merged.amax(dim=0) - merged.amin(dim=0)
        if 1.5 ** 2 * extent[0] * extent[1] < AREA_THRESHOLD ** 2:
            continue
        results.append({
            "keypoints": merged - KEYPOINT_OFFSET,
            "kp_score": merged_scores[:, None],
            "proposal_score": (merged_scores.mean() + box_scores[pick]
                               + MAX_SCORE_WEIGHT * merged_scores.max()).reshape(1),
            "bbox": boxes[pick].clone(),
            "index": pick,
        })
    return results


def _merge(ref_pose: torch.Tensor, cluster: torch.Tensor, cluster_scores: torch.Tensor,
           radius: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Score-weighted average of the cluster's joints (M, J, 2) within ``radius`` of ref_pose (J, 2)."""
    near = torch.linalg.vector_norm(ref_pose - cluster, dim=-1) <= radius
    weights = cluster_scores * near  # (M, J)
    normed = weights / weights.sum(dim=0)
    return (cluster * normed[..., None]).sum(dim=0), (weights * normed).sum(dim=0)


def result_entry(image_name: str, keypoints, score: float, bbox=None, decimals: int | None = None) -> dict:
    """One entry of AlphaPose's results JSON (the format every tool here writes): ``image_id`` = the
    file's base name, ``category_id`` 1, ``keypoints`` = J*(x, y, score) floats, ``score``, and the
    corner-format ``bbox`` [x1, y1, x2, y2] when given (as OPEC-Net's modified writer adds).
    ``decimals``: round the coordinates (None: full float precision)."""
    def floats(values):
        values = [float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1)]
        return values if decimals is None else [round(v, decimals) for v in values]

    entry = {"image_id": os.path.basename(image_name), "category_id": 1, "keypoints": floats(keypoints),
             "score": float(score)}
    if bbox is not None:
        entry["bbox"] = floats(bbox)
    return entry


def alphapose_result_dicts(image_name: str, persons: list[dict], include_bbox: bool = False) -> list[dict]:
    """:func:`result_entry` for each :func:`pose_nms` person of one image (score = proposal score)."""
    return [result_entry(image_name, torch.cat([p["keypoints"], p["kp_score"].reshape(-1, 1)], dim=1),
                         p["proposal_score"].reshape(-1)[0], p["bbox"] if include_bbox else None)
            for p in persons]


def write_alphapose_results(path, per_image: dict, include_bbox: bool = False) -> None:
    """Write ``alphapose-results.json`` (one JSON list) for ``per_image``: image name -> the
    :func:`pose_nms` output. Images with no person contribute nothing. Written atomically."""
    entries = []
    for image_name, persons in per_image.items():
        entries.extend(alphapose_result_dicts(image_name, persons, include_bbox))
    atomic_write_json(path, entries)
