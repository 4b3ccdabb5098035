# OPEC-Net with the soft-argmax ("integral") point head: the model of the original
# configs/OPEC_GCN_CrowdPose_Test.py (class SemGCN_Attention). Skeleton: opec.keypoints.OPEC12.
# The frozen feature network is AlphaPose's FastPose with the official duc_se.pth weights
# (fine_tune=True: the original's "Alpha" variants, FastPose trained with the refiner).
model = dict(
    type='TopDownRefiner',
    feature_net=dict(type='FastPose', weights='weights/sppe/duc_se.pth'),
    refiner=dict(type='OPECNet', point_head='integral', num_joints=12, hid_dim=128),
    fine_tune=False,
)
