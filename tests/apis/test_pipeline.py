"""The top-down pipeline after the detector (given boxes): crops -> SPPE -> decode -> pose NMS ->
refiner -> protocol -> output joint order. A stand-in SPPE with designed heatmaps keeps most tests
cheap; one test runs the real FastPose on a single crop."""

import cv2
import numpy as np
import pytest
import torch

from opec.apis.pipeline import TopDownPipeline, head_and_neck, to_output_format
from opec.data.crop import alphapose_crop, crop_large
from opec.refiner import TopDownRefiner, build_refiner
from tests.apis import weight_files

DesignedSPPE = weight_files.DesignedSPPE
SCORES = torch.tensor(weight_files.SCORES)


@pytest.fixture(autouse=True)
def two_threads():
    torch.set_num_threads(2)  # restored by tests/conftest.py


@pytest.fixture(scope="module")
def image(fixtures_dir):
    return cv2.imread(str(fixtures_dir / "coco" / "000000000785.jpg"))


@pytest.fixture(scope="module")
def refiner():
    torch.manual_seed(0)
    return build_refiner(dict(type="OPECNet", point_head="integral")).eval()


def with_refiner(pose_net, refiner, **kwargs) -> TopDownPipeline:
    """A pipeline whose refiner reads the taps of ``pose_net`` (frozen, shared: taps reused)."""
    return TopDownPipeline(None, pose_net, TopDownRefiner(pose_net, refiner), **kwargs)


BOXES = np.array([[280.0, 45.0, 500.0, 390.0], [50.0, 60.0, 200.0, 300.0]], dtype=np.float32)


def test_head_and_neck_by_hand():
    kp17 = np.zeros((1, 17, 3))
    kp17[0, 0] = (10, 20, 0.8)    # nose
    kp17[0, 1] = (12, 18, 0.4)    # left eye
    kp17[0, 2] = (8, 18, 0.4)     # right eye
    body = np.zeros((1, 12, 3))
    body[0, 0] = (20, 40, 0.9)    # left shoulder
    body[0, 1] = (0, 40, 0.6)     # right shoulder
    out = head_and_neck(kp17, body)
    face = np.array([(10 * 0.8 + 12 * 0.4 + 8 * 0.4) / 1.6, (20 * 0.8 + 18 * 0.4 + 18 * 0.4) / 1.6])
    neck = np.array([10.0, 40.0])
    assert np.allclose(out[0, 1], [*neck, 0.6])
    assert np.allclose(out[0, 0, :2], face + 0.5 * (face - neck))
    assert np.isclose(out[0, 0, 2], (0.8 + 0.4 + 0.4) / 3)


def test_output_formats_place_the_body_joints():
    rng = np.random.default_rng(0)
    kp17 = rng.uniform(0, 100, (3, 17, 3))
    body = rng.uniform(0, 100, (3, 12, 3))
    coco = to_output_format(kp17, body, "coco")
    assert np.array_equal(coco[:, 5:], body) and np.array_equal(coco[:, :5], kp17[:, :5])
    crowd = to_output_format(kp17, body, "crowdpose")
    assert crowd.shape == (3, 14, 3) and np.array_equal(crowd[:, :12], body)


def test_crop_large_of_the_crop_box_is_the_sppe_crop(image):
    # Why the pipeline may reuse the first SPPE pass's taps for the refiner.
    inps, pt1, pt2 = alphapose_crop(image, BOXES)
    again, _, _ = crop_large(image, torch.cat([pt1, pt2], 1).numpy())
    assert torch.equal(inps, again)


def _normalise(xy, box):
    return np.stack([2 * ((xy[:, 0] - box[0]) / (box[2] - box[0]) - 0.5),
                     2 * ((xy[:, 1] - box[1]) / (box[3] - box[1]) - 0.5)], -1)


@pytest.mark.parametrize("output_format", ["crowdpose", "coco"])
def test_refinement_protocol_with_given_boxes(image, refiner, output_format):
    pipeline = with_refiner(DesignedSPPE(), refiner, output_format=output_format)
    persons = pipeline(image, boxes=BOXES, box_scores=np.array([0.9, 0.8]))
    initial = pipeline.estimate_initial(image, boxes=BOXES, box_scores=np.array([0.9, 0.8]))
    assert len(persons) == len(initial) >= 1
    num_joints = 14 if output_format == "crowdpose" else 17
    body_slice = slice(0, 12) if output_format == "crowdpose" else slice(5, 17)
    for person, init in zip(persons, initial):
        assert person["keypoints"].shape == (num_joints, 3)
        assert np.array_equal(person["bbox"], init["bbox"])
        kp17 = init["keypoints"]
        assert np.allclose(kp17[:, 2], SCORES.numpy())
        # The refiner, run here by hand on the crop of the person's crop box.
        box = init["bbox"].astype(np.float64)
        inps, _, _ = crop_large(image, box[None])
        joints = np.concatenate([_normalise(kp17[5:, :2].astype(np.float64), box), kp17[5:, 2:]], 1)
        with torch.no_grad():
            out = refiner(torch.tensor(joints[None], dtype=torch.float32),
                          DesignedSPPE()(inps).features).stages[-1][0].numpy()
        refined = np.stack([(out[:, 0] / 2 + 0.5) * (box[2] - box[0]) + box[0],
                            (out[:, 1] / 2 + 0.5) * (box[3] - box[1]) + box[1]], -1)
        low = kp17[5:, 2] < 0.2
        assert low.any() and (~low).any()
        final = person["keypoints"][body_slice]
        assert np.allclose(final[low, :2], refined[low], atol=1e-3)
        assert np.array_equal(final[~low, :2], kp17[5:][~low, :2])
        assert np.array_equal(final[:, 2], kp17[5:, 2])            # scores never change
        assert np.array_equal(person["initial_keypoints"][body_slice], kp17[5:])
        if output_format == "coco":
            assert np.array_equal(person["keypoints"][:5], kp17[:5])


def test_without_refiner_output_is_the_sppe_pose(image):
    pipeline = TopDownPipeline(None, DesignedSPPE(), None, output_format="coco")
    persons = pipeline(image, boxes=BOXES[:1])
    assert len(persons) == 1
    assert np.array_equal(persons[0]["keypoints"], persons[0]["initial_keypoints"])


def test_no_boxes_gives_no_persons(image, refiner):
    pipeline = with_refiner(DesignedSPPE(), refiner)
    assert pipeline(image, boxes=np.zeros((0, 4))) == []


def test_real_fastpose_one_crop(image, refiner):
    """Real FastPose (random weights; the heatmap layer set to constant maps so that joint scores
    are known): the whole chain runs and keeps the protocol."""
    from opec.sppe import build_sppe

    torch.manual_seed(0)
    sppe = build_sppe(None)
    with torch.no_grad():
        sppe.conv_out.weight.zero_()
        sppe.conv_out.bias.zero_()
        sppe.conv_out.bias[:17] = SCORES
    pipeline = with_refiner(sppe, refiner, output_format="crowdpose")
    persons = pipeline(image, boxes=BOXES[:1], box_scores=np.array([0.9]))
    assert len(persons) == 1
    kp = persons[0]["keypoints"]
    assert kp.shape == (14, 3) and np.isfinite(kp).all()
    assert np.allclose(kp[:12, 2], SCORES[5:].numpy(), atol=1e-6)
    moved = np.abs(kp[:12, :2] - persons[0]["initial_keypoints"][:12, :2]).sum(1) > 0
    assert not moved[SCORES[5:].numpy() >= 0.2].any()


class ScaledSPPE(DesignedSPPE):
    """Same heatmaps, taps doubled: stands for the fine-tuned SPPE of an Alpha checkpoint."""

    def forward(self, x):
        out = super().forward(x)
        return out._replace(features=[2 * t for t in out.features])


def test_fine_tuned_feature_net_gives_the_refiner_its_features(image, refiner):
    boxes = BOXES[:1]
    plain = with_refiner(DesignedSPPE(), refiner, output_format="coco")
    alpha = TopDownPipeline(None, DesignedSPPE(), TopDownRefiner(ScaledSPPE(), refiner, fine_tune=True),
                            output_format="coco")
    person = alpha(image, boxes=boxes)[0]
    initial = plain.estimate_initial(image, boxes=boxes)[0]
    assert np.array_equal(person["initial_keypoints"], initial["keypoints"])  # poses from `sppe`
    crops, _, _ = crop_large(image, initial["bbox"][None])
    box = initial["bbox"].astype(np.float64)
    kp17 = initial["keypoints"]
    joints = np.concatenate([_normalise(kp17[5:, :2].astype(np.float64), box), kp17[5:, 2:]], 1)
    with torch.no_grad():
        out = refiner(torch.tensor(joints[None], dtype=torch.float32),
                      ScaledSPPE()(crops).features).stages[-1][0].numpy()
    low = kp17[5:, 2] < 0.2
    refined_x = (out[low, 0] / 2 + 0.5) * (box[2] - box[0]) + box[0]
    assert np.allclose(person["keypoints"][5:][low, 0], refined_x, atol=1e-3)
    assert not np.allclose(plain(image, boxes=boxes)[0]["keypoints"][5:][low, 0], refined_x, atol=1e-3)


@pytest.mark.slow
def test_alpha_config_checkpoint_builds_the_fine_tuned_feature_net(tmp_path):
    from opec.apis.pipeline import build_pipeline
    from opec.sppe import FastPose
    from tests.apis.weight_files import write_tiny_yolo, write_sppe

    torch.manual_seed(0)
    model = TopDownRefiner(FastPose(), dict(type="OPECNet", point_head="integral"), fine_tune=True)
    torch.save(model.checkpoint_state(), tmp_path / "alpha.pth")
    config = tmp_path / "alpha_cfg.py"
    config.write_text("model = dict(type='TopDownRefiner', feature_net=dict(type='FastPose'), "
                      "refiner=dict(type='OPECNet', point_head='integral'), fine_tune=True)\n")
    yolo_cfg, yolo_weights = write_tiny_yolo(tmp_path)
    pipeline = build_pipeline(config, detector=dict(type="YOLOv3", cfg_path=str(yolo_cfg), weights=str(yolo_weights),
                                                    inp_dim=64),
                              pose_net=dict(type="FastPose", weights=str(write_sppe(tmp_path / "duc_se.pth"))),
                              checkpoint=tmp_path / "alpha.pth")
    assert pipeline.model.fine_tune and not pipeline.reuse_taps
    assert pipeline.model.feature_net is not pipeline.pose_net
    for key, value in model.state_dict().items():
        assert torch.equal(pipeline.model.state_dict()[key], value)
