# OPEC-Net on CrowdPose: attention GCN with the FC point head (original: configs/OPEC_GCN_CrowdPose_Test_FC_Alpha.py).
# Alpha variant: FastPose is trained with the refiner, end to end (no feature cache).
_base_ = ['./_base_/models/opec_gcn_fc.py', './_base_/datasets/crowdpose_opec.py',
          './_base_/schedules/cosine_25e.py', './_base_/default_runtime.py']
model = dict(fine_tune=True)
