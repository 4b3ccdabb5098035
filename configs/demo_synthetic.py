# The demo (README command 1): OPEC-Net trained on the small synthetic crowd made by
# tools/make_demo_data.py, on the CPU in a few minutes.
# No pretrained SPPE is downloaded for the demo: FastPose runs with RANDOM weights (model.feature_net.weights=None),
# so the image features carry little meaning and the refiner mostly learns the body-structure prior
# of the GCN. For real runs use the CrowdPose configs with weights/sppe/duc_se.pth.
_base_ = ['./_base_/models/opec_gcn.py', './_base_/schedules/cosine_25e.py', './_base_/default_runtime.py']
train_data = dict(
    annotations=[dict(json_file='data/demo/train_process_datasets/train_demo.json', type='demo',
                      img_dir='data/demo/images')],
    batch_images=2,
    num_workers=2,
)
test_data = dict(
    pred_json='data/demo/test_process_datasets/test_compute_map++.json',
    best_json='data/demo/test_process_datasets/pred_test_best_match.json',
    target_json='data/demo/test_process_datasets/crowdpose_test.json',
    img_dir='data/demo/images',
    dataset='demo',
    batch_size=60,
    num_workers=2,
)
model = dict(feature_net=dict(type='FastPose', weights=None, seed=0))  # random weights, drawn with this seed
schedule = dict(epochs=5)
feature_cache = dict(storage='memory', dtype='float32', taps='all')
