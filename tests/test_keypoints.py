"""Joint sets: checked against the facts of the specs (joint orders, sigmas, the 12-edge graph)."""
import pytest

from opec.keypoints import (
    COCO17, COCO17_TO_CROWDPOSE14, CROWDPOSE14, OPEC12, TO_OPEC12, joint_set,
)


def test_sizes_and_sigma_counts():
    assert (COCO17.num_joints, CROWDPOSE14.num_joints, OPEC12.num_joints) == (17, 14, 12)
    for js in (COCO17, CROWDPOSE14, OPEC12):
        assert len(js.sigmas) == js.num_joints
        assert all(0 <= i < js.num_joints and 0 <= j < js.num_joints for i, j in js.skeleton)


def test_opec12_is_crowdpose_body_and_coco_5_to_16():
    assert CROWDPOSE14.joints[:12] == OPEC12.joints
    assert CROWDPOSE14.joints[12:] == ("head", "neck")
    assert tuple(COCO17.joints[i] for i in TO_OPEC12["coco"]) == OPEC12.joints
    assert tuple(CROWDPOSE14.joints[i] for i in TO_OPEC12["crowdpose"]) == OPEC12.joints
    # CrowdPose joint k is COCO joint k+5 for the body; head/neck have no COCO counterpart.
    for k, c in enumerate(COCO17_TO_CROWDPOSE14):
        if c is None:
            assert CROWDPOSE14.joints[k] in ("head", "neck")
        else:
            assert COCO17.joints[c] == CROWDPOSE14.joints[k]


def test_published_sigmas():
    # CrowdPose values (x10): .79 .79 .72 .72 .62 .62 1.07 1.07 .87 .87 .89 .89 .79 .79
    expected = [.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89, .79, .79]
    assert CROWDPOSE14.sigmas == pytest.approx([s / 10 for s in expected])
    assert COCO17.sigmas[:5] == pytest.approx([.026, .025, .025, .035, .035])
    assert COCO17.sigmas[5:] == OPEC12.sigmas


def test_opec_graph_degrees():
    # Degrees incl. self loop in the original adjacency: 0,1,6,7 -> 4; 2,3,8,9 -> 3; 4,5,10,11 -> 2.
    degree = [1] * 12
    for i, j in OPEC12.skeleton:
        degree[i] += 1
        degree[j] += 1
    assert degree == [4, 4, 3, 3, 2, 2, 4, 4, 3, 3, 2, 2]
    assert len(set(frozenset(e) for e in OPEC12.skeleton)) == 12


def test_flip_index_swaps_left_and_right():
    for js in (COCO17, CROWDPOSE14, OPEC12):
        perm = js.flip_index()
        assert sorted(perm) == list(range(js.num_joints))
        for i, j in enumerate(perm):
            a, b = js.joints[i], js.joints[j]
            if a.startswith("left_"):
                assert b == "right_" + a[5:]
            elif a.startswith("right_"):
                assert b == "left_" + a[6:]
            else:
                assert i == j


def test_joint_set_lookup():
    assert joint_set("coco") is COCO17
    with pytest.raises(ValueError, match="unknown joint set"):
        joint_set("mpii")
