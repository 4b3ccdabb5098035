"""COCO keypoints: 17 joints, OKS scale the stored ``area``, APm / APl (pycocotools' rules). The
original's processed COCO training file names images by their id without the zero padding."""
from opec.datasets.spec import DatasetSpec
from opec.keypoints import COCO17
from opec.registry import DATASETS

# COCO file names are the image id zero-padded to 12 digits + ".jpg" (16 characters).
FILE_NAME_LENGTH = 16


@DATASETS.register_module(name="coco")
class COCO(DatasetSpec):
    name = "coco"
    joint_set = COCO17
    oks_scale = "stored"
    crowd_index = "ignore"
    area_ranges = True

    def train_image_name(self, img_name: str) -> str:
        """``1414.jpg`` -> ``000000001414.jpg`` (the original's processed file drops the zeros)."""
        return img_name.rjust(FILE_NAME_LENGTH, "0")
