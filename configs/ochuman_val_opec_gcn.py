# OPEC-Net (attention GCN, soft-argmax point head) trained on the original's data (COCO subset +
# CrowdPose, as configs/OPEC_GCN_CrowdPose_Test.py) and evaluated on OCHuman val.
# OCHuman GT is COCO-17 with the box area stored as ``area`` (pycocotools protocol on the stored
# area); the processed test files come from tools/prepare_data.py (docs/datasets.md).
_base_ = ['./OPEC_GCN_CrowdPose_Test.py']
test_data = dict(
    pred_json='data/ochuman/processed/test_ochuman_val.json',
    best_json='data/ochuman/processed/best_match_ochuman_val.json',
    target_json='data/ochuman/ochuman_coco_format_val_range_0.00_1.00.json',
    img_dir='data/ochuman/images',
    dataset='ochuman',
)
