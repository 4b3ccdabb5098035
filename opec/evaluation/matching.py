"""Per-image greedy matching of the COCO keypoint protocol, for all images and thresholds at once.

The rules are pycocotools' ``evaluateImg`` (docs/evaluation.md, "Rules"): in every image (and
category) the detections, best score first, each take at every OKS threshold t the GT with the
highest OKS >= t among those still free -- non-ignored GTs first; only when none qualifies an
ignored one (a crowd GT stays free after a match); on an exact OKS tie the GT later in the file
wins. A detection matched to an ignored GT is ignored; an unmatched detection whose area lies
outside the area range is ignored; the others are true or false positives.

The matching works on the candidate pairs only -- (detection, GT) with OKS >= the lowest
threshold -- listed once per ignore set, each detection's candidates in its preference order
(non-ignored first, then descending OKS, ties to the later GT). The thresholds are the bits of one
small integer: per candidate the thresholds it reaches, per (GT, set) those at which the GT is
taken, per (detection, set) those at which the detection has matched. Images are processed
together and the loop runs over detection rank 0..19 and, within a rank, over each detection's
first, second, ... candidate: a candidate takes the thresholds it reaches where its GT is free
(or crowd) and its detection has not matched yet. The work is proportional to the number of
candidate pairs.
"""
from __future__ import annotations

import numpy as np

TRUE_POSITIVE, FALSE_POSITIVE, IGNORED = 1, 0, 2


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments of ``counts`` items: (owner segment of each item, its position in the segment)."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return owner, np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)


def match_images(dt: np.ndarray, rank: np.ndarray, gt: np.ndarray, oks: np.ndarray, gt_ignored: np.ndarray,
                 gt_crowd: np.ndarray, dt_outside: np.ndarray, thresholds: np.ndarray,
                 return_gt: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Match every detection at every threshold and area range.

    Detections are in group order (a group = one image and category), best score first within a
    group, at most 20 per group; GTs are in group order, file order within a group.

    Args:
        dt, rank, gt, oks: (P,) (detection, GT) pairs of the same group: the detection (its
            position), its rank in the group (0 = best score), the GT (its position) and their OKS.
            Pairs below the lowest threshold may be left out (they never match).
        gt_ignored: (A, G) ignore flag of every GT per area range (or slice). gt_crowd: (G,).
        dt_outside: (A, D) the detection's area lies outside the area range.
        thresholds: (T,) OKS thresholds (at most 62).
        return_gt: also return which GT each detection matched (else None: the AP needs only the status).
    Returns:
        (A, T, D) int8: :data:`TRUE_POSITIVE`, :data:`FALSE_POSITIVE` or :data:`IGNORED`; and
        (A, T, D) int64: the matched GT (its position in the GT order), -1 when unmatched.
    """
    sets, n_t, n_d = gt_ignored.shape[0], len(thresholds), dt_outside.shape[1]
    limit = np.minimum(thresholds, 1 - 1e-10)  # pycocotools' starting "best OKS so far"
    near = np.flatnonzero(oks >= limit.min()) if n_t else np.zeros(0, dtype=np.int64)
    dt, rank, gt, oks = dt[near], rank[near], gt[near], oks[near]
    # Sets of thresholds as bit words (bit t: thresholds[t]); the thresholds each pair reaches.
    if n_t > 62:
        raise ValueError(f"at most 62 OKS thresholds, got {n_t}")
    word = np.int16 if n_t < 15 else np.int64
    bits = np.left_shift(1, np.arange(n_t)).astype(word)
    reached = ((oks[:, None] >= limit[None, :]) @ bits).astype(word)
    # Per ignore set s, each detection's candidate pairs in preference order: non-ignored first,
    # descending OKS, the later GT first on a tie.
    by_preference = np.lexsort((-gt, -oks, dt))  # a group's GTs: later in the file = later position
    entries, entry_set = [], []
    for s in range(sets):
        order = by_preference[np.argsort(gt_ignored[s, gt[by_preference]], kind="stable")]
        entries.append(order[np.argsort(dt[order], kind="stable")])
        entry_set.append(np.full(len(order), s))
    pair, entry_set = np.concatenate(entries), np.concatenate(entry_set)
    # A (set, detection)'s j-th choice; blocks of equal (rank, j), rank by rank.
    segment = entry_set * n_d + dt[pair]
    starts = np.r_[True, segment[1:] != segment[:-1]] if len(pair) else np.zeros(0, dtype=bool)
    choice = np.arange(len(pair)) - np.maximum.accumulate(np.where(starts, np.arange(len(pair)), 0))
    block = rank[pair] * (int(choice.max(initial=0)) + 1) + choice
    by_block = np.argsort(block.astype(np.int16) if block.max(initial=0) < 2 ** 15 else block, kind="stable")
    pair, entry_set, segment, block = pair[by_block], entry_set[by_block], segment[by_block], block[by_block]
    entry_gt = gt[pair]
    slot = entry_gt * sets + entry_set                       # into taken: (GT, set)
    crowd, reach = gt_crowd[entry_gt], reached[pair]
    taken = np.zeros(len(gt_crowd) * sets, dtype=word)   # thresholds at which the GT is taken
    done = np.zeros(sets * n_d, dtype=word)              # thresholds at which the detection matched
    ignored_bits = np.zeros(sets * n_d, dtype=word)      # ... to an ignored GT
    entry_ignored = gt_ignored[entry_set, entry_gt]
    take = np.zeros(len(pair), dtype=word)
    bounds = np.flatnonzero(np.r_[True, block[1:] != block[:-1], True]) if len(pair) else [0]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        # One candidate per (set, detection): no two share a GT (one detection of a given rank per image).
        e_slot, e_seg = slot[lo:hi], segment[lo:hi]
        free = np.where(crowd[lo:hi], reach[lo:hi], reach[lo:hi] & ~taken[e_slot])
        got = free & ~done[e_seg]
        done[e_seg] |= got
        ignored_bits[e_seg] |= np.where(entry_ignored[lo:hi], got, 0)
        taken[e_slot] |= got
        take[lo:hi] = got
    # Status from the bits each (set, detection) matched at, and at which to an ignored GT.
    shift = np.arange(n_t, dtype=word)[None, :, None]
    status = ((done.reshape(sets, 1, n_d) >> shift) & 1) + ((ignored_bits.reshape(sets, 1, n_d) >> shift) & 1)
    status = status.astype(np.int8)  # 1: matched to a non-ignored GT, 2: to an ignored one
    # Unmatched: a false positive, or ignored outside the area range.
    status[(status == 0) & dt_outside[:, None, :]] = IGNORED
    if not return_gt:
        return status, None
    matched_gt = np.full((sets, n_t, n_d), -1, dtype=np.int64)
    hit = np.flatnonzero(take)
    entry, t = np.nonzero((take[hit, None] >> np.arange(n_t, dtype=word)[None, :]) & 1)
    hit = hit[entry]
    matched_gt.reshape(-1)[(entry_set[hit] * n_t + t) * n_d + dt[pair[hit]]] = entry_gt[hit]
    return status, matched_gt
