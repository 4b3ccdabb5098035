"""One home per dataset: a spec each (joints, OKS rule, crowd-index rule, file-name rules), and the
preparation of the original's processed files from any COCO-format keypoint set."""
from opec.datasets.coco import COCO
from opec.datasets.crowdpose import CrowdPose
from opec.datasets.demo import Demo
from opec.datasets.ochuman import OCHuman
from opec.datasets.ocpose import OCPose
from opec.datasets.spec import DatasetSpec, dataset_names, dataset_spec

__all__ = ["COCO", "CrowdPose", "Demo", "OCHuman", "OCPose", "DatasetSpec", "dataset_names", "dataset_spec"]
