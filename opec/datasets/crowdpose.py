"""CrowdPose (Li et al., CVPR 2019): 14 joints, OKS scale 0.53 * w * h, easy / medium / hard by
``crowdIndex`` (docs/datasets.md, docs/evaluation.md)."""
from opec.datasets.spec import DatasetSpec
from opec.keypoints import CROWDPOSE14
from opec.registry import DATASETS


@DATASETS.register_module(name="crowdpose")
class CrowdPose(DatasetSpec):
    name = "crowdpose"
    joint_set = CROWDPOSE14
    oks_scale = "bbox053"
    crowd_index = "required"
    area_ranges = False
