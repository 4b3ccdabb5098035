"""OCPose: its annotation file is no longer public; taken as CrowdPose-format -- 14 joints, OKS
scale 0.53 * w * h, easy / medium / hard when the file has ``crowdIndex`` (docs/datasets.md)."""
from opec.datasets.spec import DatasetSpec
from opec.keypoints import CROWDPOSE14
from opec.registry import DATASETS


@DATASETS.register_module(name="ocpose")
class OCPose(DatasetSpec):
    name = "ocpose"
    joint_set = CROWDPOSE14
    oks_scale = "bbox053"
    crowd_index = "optional"
    area_ranges = False
