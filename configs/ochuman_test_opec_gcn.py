# As configs/ochuman_val_opec_gcn.py, evaluated on OCHuman test.
_base_ = ['./ochuman_val_opec_gcn.py']
test_data = dict(
    pred_json='data/ochuman/processed/test_ochuman_test.json',
    best_json='data/ochuman/processed/best_match_ochuman_test.json',
    target_json='data/ochuman/ochuman_coco_format_test_range_0.00_1.00.json',
)
