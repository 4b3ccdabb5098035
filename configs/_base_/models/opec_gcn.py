# OPEC-Net refiner with the soft-argmax ("integral") point head: the model of the original
# configs/OPEC_GCN_CrowdPose_Test.py (class SemGCN_Attention). Skeleton: opec.keypoints.OPEC12.
model = dict(type='OPECNet', point_head='integral', num_joints=12, hid_dim=128)
