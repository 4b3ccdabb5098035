"""Joint sets used in the project, as data: names, skeletons, OKS sigmas, flip pairs, mappings.

Three joint sets appear along the pipeline:

* ``COCO17``      -- the AlphaPose SPPE output order (and COCO / OCHuman ground truth).
* ``CROWDPOSE14`` -- CrowdPose ground truth: the 12 body joints, then ``head`` (top) and ``neck``.
* ``OPEC12``      -- the 12 body joints OPEC-Net refines (= the first 12 CrowdPose joints,
  = COCO indices 5..16 in order). Head and neck are not modelled by the refiner.

Every other module takes its joint constants from here (one place for each constant).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class JointSet:
    """A named list of joints with its skeleton, OKS sigmas and left/right flip pairs.

    ``skeleton`` holds undirected edges as (i, j) index pairs; ``sigmas`` are the per-joint
    OKS constants (the published values divided by 10); ``flip_pairs`` are 0-based (left, right).
    """

    name: str
    joints: tuple[str, ...]
    skeleton: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...]
    flip_pairs: tuple[tuple[int, int], ...] = field(default=())

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    def flip_index(self) -> list[int]:
        """Permutation that swaps left and right joints (``flipped = x[..., flip_index]``)."""
        perm = list(range(self.num_joints))
        for left, right in self.flip_pairs:
            perm[left], perm[right] = right, left
        return perm


_BODY12 = (
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
# CrowdPose / COCO body sigmas (x10): shoulders .79, elbows .72, wrists .62, hips 1.07,
# knees .87, ankles .89.
_BODY12_SIGMAS = (0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089)
_BODY12_FLIP = ((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11))
# The 12 edges of OPEC-Net's graph (the configs' ``model.adj``), in the original's order:
# shoulders, left arm, right arm, torso sides, hips, left leg, right leg.
_BODY12_EDGES = (
    (0, 1), (0, 2), (2, 4), (1, 3), (3, 5), (0, 6), (1, 7), (6, 7), (6, 8), (8, 10), (7, 9), (9, 11),
)

OPEC12 = JointSet(
    name="opec12",
    joints=_BODY12,
    skeleton=_BODY12_EDGES,
    sigmas=_BODY12_SIGMAS,
    flip_pairs=_BODY12_FLIP,
)

CROWDPOSE14 = JointSet(
    name="crowdpose",
    joints=_BODY12 + ("head", "neck"),
    # Body edges plus head-neck and neck-shoulders (drawing only; the refiner never sees them).
    skeleton=_BODY12_EDGES + ((12, 13), (13, 0), (13, 1)),
    sigmas=_BODY12_SIGMAS + (0.079, 0.079),
    flip_pairs=_BODY12_FLIP,
)

COCO17 = JointSet(
    name="coco",
    joints=("nose", "left_eye", "right_eye", "left_ear", "right_ear") + _BODY12,
    skeleton=(
        (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ) + tuple((i + 5, j + 5) for i, j in _BODY12_EDGES),
    sigmas=(0.026, 0.025, 0.025, 0.035, 0.035) + _BODY12_SIGMAS,
    flip_pairs=((1, 2), (3, 4)) + tuple((i + 5, j + 5) for i, j in _BODY12_FLIP),
)

JOINT_SETS = {js.name: js for js in (COCO17, CROWDPOSE14, OPEC12)}
# Joint coordinates are image pixels; beyond this magnitude a value is a bug, not a position (and its
# square overflows the OKS arithmetic), so readers reject it.
MAX_COORDINATE = 1e6
# The joint set of a flat keypoint list (x, y, score|v per joint) by its length: 51, 42 or 36 values.
JOINT_SET_BY_LENGTH = {3 * js.num_joints: js.name for js in (COCO17, CROWDPOSE14, OPEC12)}

# Index maps into OPEC12: ``opec12 = joints[..., TO_OPEC12[set_name], :]``.
COCO17_TO_OPEC12 = tuple(range(5, 17))
CROWDPOSE14_TO_OPEC12 = tuple(range(12))
TO_OPEC12 = {"coco": COCO17_TO_OPEC12, "crowdpose": CROWDPOSE14_TO_OPEC12, "opec12": tuple(range(12))}
# COCO-17 -> CrowdPose-14: CrowdPose joint k is COCO joint k + 5 for k < 12; head/neck have no
# COCO counterpart (None).
COCO17_TO_CROWDPOSE14 = tuple(range(5, 17)) + (None, None)


def joint_set(name: str) -> JointSet:
    """Look a joint set up by name (``coco``, ``crowdpose`` or ``opec12``)."""
    try:
        return JOINT_SETS[name]
    except KeyError:
        raise ValueError(f"unknown joint set {name!r}; expected one of {sorted(JOINT_SETS)}") from None
