"""The synthetic demo crowd of ``opec-make-demo-data`` (docs/datasets.md): CrowdPose-format files
(14 joints, OKS scale 0.53 * w * h, ``crowdIndex`` on every image), evaluated by CrowdPose's rules."""
from opec.datasets.crowdpose import CrowdPose
from opec.registry import DATASETS


@DATASETS.register_module(name="demo")
class Demo(CrowdPose):
    name = "demo"
