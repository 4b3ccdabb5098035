"""What the code knows about a dataset, in one object per dataset (docs/datasets.md).

A :class:`DatasetSpec` holds a dataset's joint set, its OKS rule (the evaluator's), its crowd-index
rule and its file-name rules; the modules beside this one define one spec each and register it in
``opec.registry.DATASETS`` under the name configs and command lines use (``crowdpose``, ``coco``,
``ochuman``, ``ocpose``, ``demo``). Adding a COCO-format dataset is one such module plus a config.
"""
from __future__ import annotations

from opec.keypoints import JointSet
from opec.registry import DATASETS

OKS_SCALES = ("bbox053", "stored")
CROWD_INDEX_RULES = ("required", "optional", "ignore")


class DatasetSpec:
    """Base of the per-dataset specs (class attributes, overridden by each dataset).

    Attributes:
        name: the registry name (``crowdpose``, ...).
        joint_set: the GT's joints (``CROWDPOSE14`` or ``COCO17``).
        oks_scale: ``'bbox053'`` -- 0.53 * w * h of the GT box (the CrowdPose API) -- or
            ``'stored'`` -- the GT's ``area`` (pycocotools).
        crowd_index: ``images[].crowdIndex`` for the easy / medium / hard split: ``'required'``,
            ``'optional'`` (reported when present) or ``'ignore'``.
        area_ranges: report APm / APl / ARm / ARl (COCO's medium / large persons).
    """

    name: str
    joint_set: JointSet
    oks_scale: str
    crowd_index: str
    area_ranges: bool

    def train_image_name(self, img_name: str) -> str:
        """The file name of an image of a processed training file (its ``img_name``)."""
        return img_name

    def image_file_name(self, image_id: int | str) -> str:
        """The file name of a result's ``image_id``: upstream ids are file names ("103319.jpg");
        an integer id gets ``<id>.jpg``."""
        return image_id if isinstance(image_id, str) else f"{image_id}.jpg"


def dataset_spec(name: str) -> DatasetSpec:
    """The spec registered as ``name``; ValueError naming the registered ones otherwise."""
    spec = DATASETS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ValueError(f"unknown dataset {name!r}; expected one of {dataset_names()}")
    return spec()


def dataset_names() -> list[str]:
    """The registered dataset names."""
    DATASETS.import_from_location()
    return sorted(DATASETS.module_dict)
