# OPEC-Net (attention GCN, soft-argmax point head) trained and evaluated on OCPose with the
# original's split lists (train_list.txt: 7,200 images, test_list.txt: 1,801 images).
# OCPose GT is assumed CrowdPose-style (14 joints, optional crowdIndex; docs/datasets.md).
# Files: data/ocpose/processed/* and the per-split GT from tools/prepare_data.py --image-list.
_base_ = ['./OPEC_GCN_CrowdPose_Test.py']
train_data = dict(
    annotations=[
        dict(
            json_file='data/ocpose/processed/train_ocpose_train.json',
            type='crowdpose',
            img_dir='data/ocpose/images',
        ),
    ],
)
test_data = dict(
    pred_json='data/ocpose/processed/test_ocpose_test.json',
    best_json='data/ocpose/processed/best_match_ocpose_test.json',
    target_json='data/ocpose/ocpose_test.json',
    img_dir='data/ocpose/images',
    dataset='ocpose',
)
# The training-pair matching rule of tools/prepare_data.py --config (docs/datasets.md).
data_preparation = dict(oks_threshold=0.5, min_gt_joints=1, min_score=0.0)
