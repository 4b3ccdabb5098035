"""The dataset specs: one per dataset, looked up by the names configs use; each states the rules
the evaluator and the readers apply."""
from __future__ import annotations

import pytest

from opec.datasets import dataset_names, dataset_spec
from opec.keypoints import COCO17, CROWDPOSE14


def test_every_dataset_is_registered_under_its_own_name():
    assert dataset_names() == ["coco", "crowdpose", "demo", "ochuman", "ocpose"]
    for name in dataset_names():
        assert dataset_spec(name).name == name


@pytest.mark.parametrize("name, joints, scale, crowd, areas", [
    ("crowdpose", CROWDPOSE14, "bbox053", "required", False),
    ("ocpose", CROWDPOSE14, "bbox053", "optional", False),
    ("demo", CROWDPOSE14, "bbox053", "required", False),
    ("coco", COCO17, "stored", "ignore", True),
    ("ochuman", COCO17, "stored", "ignore", True),
])
def test_rules(name, joints, scale, crowd, areas):
    spec = dataset_spec(name)
    assert (spec.joint_set, spec.oks_scale, spec.crowd_index, spec.area_ranges) == (joints, scale, crowd, areas)
    assert len(spec.joint_set.sigmas) == spec.joint_set.num_joints


def test_file_name_rules():
    assert dataset_spec("coco").train_image_name("1414.jpg") == "000000001414.jpg"
    assert dataset_spec("crowdpose").train_image_name("100000.jpg") == "100000.jpg"
    assert dataset_spec("crowdpose").image_file_name(103319) == "103319.jpg"
    assert dataset_spec("crowdpose").image_file_name("103319.jpg") == "103319.jpg"


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown dataset 'crowd_pose'; expected one of \['coco', 'crowdpose'"):
        dataset_spec("crowd_pose")
