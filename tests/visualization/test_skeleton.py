"""Skeleton drawing and before/after panels on small synthetic images."""
from __future__ import annotations

import numpy as np
import pytest

from opec.keypoints import COCO17, CROWDPOSE14, OPEC12
from opec.visualization import before_after_panel, draw_poses, joint_colors, limb_colors


def _grey(h=120, w=160):
    return np.full((h, w, 3), 127, np.uint8)


def _standing_person(js, cx=80.0, top=10.0, height=100.0):
    """A plausible upright pose for any of the joint sets (image pixels, score 1)."""
    y = {"shoulder": 0.25, "elbow": 0.45, "wrist": 0.6, "hip": 0.55, "knee": 0.75, "ankle": 0.95,
         "head": 0.02, "neck": 0.15, "nose": 0.08, "eye": 0.06, "ear": 0.07}
    pose = np.zeros((js.num_joints, 3))
    for k, name in enumerate(js.joints):
        side = -1 if name.startswith("left") else 1 if name.startswith("right") else 0
        part = name.split("_")[-1]
        pose[k] = (cx + side * 0.15 * height, top + y[part] * height, 1.0)
    return pose


@pytest.mark.parametrize("js", [CROWDPOSE14, COCO17, OPEC12], ids=lambda js: js.name)
def test_draws_every_limb_colour_and_keeps_input(js):
    image = _grey()
    original = image.copy()
    out = draw_poses(image, _standing_person(js)[None], js)
    np.testing.assert_array_equal(image, original)  # a copy is returned
    assert out.shape == image.shape and out.dtype == np.uint8
    colours = {tuple(c) for c in out.reshape(-1, 3)}
    for colour in set(limb_colors(js)) | set(joint_colors(js)):
        assert colour in colours, f"colour {colour} not drawn"


def test_limb_colours_follow_body_sides():
    colours = dict(zip(CROWDPOSE14.skeleton, limb_colors(CROWDPOSE14)))
    left_arm = colours[(CROWDPOSE14.index("left_elbow"), CROWDPOSE14.index("left_wrist"))]
    right_arm = colours[(CROWDPOSE14.index("right_elbow"), CROWDPOSE14.index("right_wrist"))]
    assert left_arm != right_arm
    # The same limb has the same colour in every joint set.
    coco = dict(zip(COCO17.skeleton, limb_colors(COCO17)))
    assert coco[(COCO17.index("left_elbow"), COCO17.index("left_wrist"))] == left_arm


def test_low_score_and_invisible_joints_are_skipped():
    js = CROWDPOSE14
    pose = _standing_person(js)
    pose[:, 2] = 0.0  # GT visibility 0 / score below the threshold everywhere
    out = draw_poses(_grey(), pose[None], js, score_threshold=0.05)
    np.testing.assert_array_equal(out, _grey())
    pose[:, :2] = np.nan
    pose[:, 2] = 1.0
    np.testing.assert_array_equal(draw_poses(_grey(), pose[None], js), _grey())


def test_faded_joints_are_blended_not_solid():
    js = OPEC12
    pose = _standing_person(js)
    pose[:, 2] = 0.1
    solid = draw_poses(_grey(), pose[None], js)
    faded = draw_poses(_grey(), pose[None], js, fade_below=0.2)
    changed = (solid != 127).any(-1)
    assert changed.sum() > 100
    # Faded strokes lie between the background and the solid colour.
    diff_solid = np.abs(solid.astype(int) - 127)[changed].sum()
    diff_faded = np.abs(faded.astype(int) - 127)[changed].sum()
    assert 0 < diff_faded < 0.7 * diff_solid


def test_wrong_joint_count_is_one_line_error():
    with pytest.raises(ValueError, match=r"expected shape \(P, 14, 3\)"):
        draw_poses(_grey(), np.zeros((1, 17, 3)), "crowdpose")


def test_before_after_panel_size_titles_and_moved_rings():
    js = CROWDPOSE14
    after = _standing_person(js)[None]
    before = after.copy()
    before[0, js.index("left_wrist"), :2] += (25, 5)
    image = _grey()
    panel = before_after_panel(image, before, after, js, boxes=[[50, 8, 110, 112]])
    h, w = image.shape[:2]
    assert panel.dtype == np.uint8 and panel.shape[0] > h
    gap = panel.shape[1] - 2 * w
    assert 4 <= gap <= 20
    bar = panel.shape[0] - h
    left = panel[bar:, :w]
    right = panel[bar:, w + gap:]
    # Title strips hold white text on a dark background.
    assert (panel[:bar, :w] == 255).all(-1).sum() > 20
    # Only the moved joint differs in placement; the right half gets a white ring around it.
    x, y = after[0, js.index("left_wrist"), :2].astype(int)
    ring_zone = right[y - 12:y + 13, x - 12:x + 13]
    assert (ring_zone > 220).all(-1).sum() >= 8
    assert not (left[y - 12:y + 13, x - 12:x + 13] > 220).all(-1).any()


def test_before_after_mismatched_persons():
    js = OPEC12
    one = _standing_person(js)[None]
    with pytest.raises(ValueError, match="same persons"):
        before_after_panel(_grey(), one, np.concatenate([one, one]), js)
