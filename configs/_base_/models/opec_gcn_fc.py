# OPEC-Net refiner with the FC point head: the model of the original
# configs/OPEC_GCN_CrowdPose_Test_FC.py (class SemGCN_FC). Skeleton: opec.keypoints.OPEC12.
model = dict(type='OPECNet', point_head='fc', num_joints=12, hid_dim=128)
