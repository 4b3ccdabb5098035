"""OCHuman (Zhang et al., CVPR 2019), in its COCO-format files: 17 joints, OKS scale the stored
``area``, APm / APl -- pycocotools' rules (docs/datasets.md)."""
from opec.datasets.spec import DatasetSpec
from opec.keypoints import COCO17
from opec.registry import DATASETS


@DATASETS.register_module(name="ochuman")
class OCHuman(DatasetSpec):
    name = "ochuman"
    joint_set = COCO17
    oks_scale = "stored"
    crowd_index = "ignore"
    area_ranges = True
