# OPEC-Net with the FC point head: the model of the original configs/OPEC_GCN_CrowdPose_Test_FC.py
# (class SemGCN_FC). Skeleton: opec.keypoints.OPEC12. Feature network as in opec_gcn.py.
model = dict(
    type='TopDownRefiner',
    feature_net=dict(type='FastPose', weights='weights/sppe/duc_se.pth'),
    refiner=dict(type='OPECNet', point_head='fc', num_joints=12, hid_dim=128),
    fine_tune=False,
)
