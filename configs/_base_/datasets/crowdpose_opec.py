# OPEC-Net's processed CrowdPose training/test data (docs/datasets.md), paths relative to the
# working directory as in the original: the processed JSONs in ./train_process_datasets and
# ./test_process_datasets, CrowdPose images in ../crowdpose/images, COCO train2017 in ../train2017.
# Black lists: positions in the respective JSON list skipped at load (the original's lists; the
# original defined a third list for the test set that nothing read -- it is dropped here).
train_data = dict(
    annotations=[
        dict(
            json_file='train_process_datasets/coco_pose_45.json',
            type='coco',
            img_dir='../train2017',
            black_list=[
                783, 859, 1100, 2173, 2196, 2468, 2473, 2878, 3064, 3304, 3477, 3488, 3687, 4190, 4959,
                4963, 5382, 5574, 5937, 6124, 6210, 6312, 6386, 6458, 6631, 7044, 7147, 7487, 8115, 8811,
                8865, 8867, 9081, 9585, 10017, 10261, 10262, 10410, 10601, 10775, 10779, 10831, 10960,
                10969, 10997, 11125, 11210, 11288, 11349, 11897, 12167, 12317, 12340, 12413, 12632, 13561,
                13668, 13843, 13931, 14038, 14316, 14318, 14376, 14377, 14495, 14598, 14708, 14933, 14979,
                15058, 15170, 15391, 15708, 15747, 15788, 16011, 16012, 16143, 16391, 16402, 16777, 16844,
                16858, 17198, 17301, 17558, 17576, 17955, 18181, 18486, 18619, 18636, 18726, 18881, 19165,
                19221, 19942, 20724, 20743, 21108, 21428, 21834, 23008, 23432, 23543, 23696, 24108, 24475,
                24837, 25491, 25707, 25993, 26059, 26109, 26175, 26208, 26241, 26307, 26392, 26878, 26957,
                27310, 27373, 27462, 27883, 27975, 27986, 28090, 28130, 28306, 28593, 28616, 28934, 28970,
                29090, 29266, 29858, 29954, 30905, 31379, 31446, 31488, 31527, 31593, 31835, 31876, 32033,
                32166, 32202, 33062, 33425, 33467, 33767, 34004, 34014, 34114, 34261, 34379, 34693, 34969,
                35107, 35381, 35449, 35815, 35923, 36719, 36935, 37275, 37449, 37462, 37618, 38253, 38387,
                38445, 39164, 39303, 39528, 39733, 40859, 41020, 41040, 41058, 41447, 41937, 42091, 42110,
                42386, 44042, 45083, 45560, 45758, 45772, 45875, 46219, 46356, 46450, 46986, 47106, 47733,
                47878,
            ],
        ),
        dict(
            json_file='train_process_datasets/train_crowd_train.json',
            type='crowdpose',
            img_dir='../crowdpose/images',
            black_list=[534, 553, 1782, 2481, 4127, 4379, 5812, 6268, 6712, 6764, 7483, 7792, 7979,
                        8028, 8824, 9203, 9477],
        ),
    ],
    batch_images=14,  # images per batch (per process under torchrun); train.sh's BATCH overrides it
    num_workers=4,
)
test_data = dict(
    pred_json='test_process_datasets/test_compute_map++.json',      # pose-NMS predictions (+ crop box)
    best_json='test_process_datasets/pred_test_best_match.json',    # best-match predictions (+ crop box)
    target_json='test_process_datasets/crowdpose_test.json',        # CrowdPose test GT
    img_dir='../crowdpose/images',
    dataset='crowdpose',
    convention='official',  # 'xtcocotools' to compare with mmpose's numbers (docs/evaluation.md)
    batch_size=60,  # persons per evaluation batch
    num_workers=4,
)
