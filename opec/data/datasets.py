"""Training and test datasets on the processed annotations (docs/training.md), and their collates.

Persons are numbered once, in file order, with a global *person id*; the frozen SPPE feature cache
(:mod:`opec.engine.features`) is indexed by it. Joints are box-normalised once at construction
(x̂ = 2·((x − x0)/w − 0.5), ŷ likewise, third column untouched; docs/refiner.md) so that a batch
is a slice of ready arrays.

* :class:`TrainDataset` -- one item per image (all its persons); the train collate concatenates the
  persons of the batch's images, so the effective batch is the number of persons (variable).
* :class:`TestDataset`  -- one item per predicted person (an entry of ``test_compute_map++.json``).

With ``crops=False`` no image is read: items carry only ids and joints (used when the features come
from the cache, so data loading costs nothing).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from opec.data import crop as crop_module
from opec.data.annotations import (
    NUM_JOINTS, TrainImage, check_images_exist, read_image, read_predictions,
    read_train_json,
)


def _normalised(joints: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(P,J,3) image-pixel joints -> box-normalised float32 (third column untouched)."""
    out = crop_module.normalize_to_box(joints, boxes[:, :2], boxes[:, 2:4])
    return np.ascontiguousarray(out, dtype=np.float32)


class TrainDataset(Dataset):
    """Training images from one or more processed JSONs (docs/datasets.md).

    ``annotations``: list of dicts ``json_file``, ``type`` (the images' dataset, an ``opec.datasets``
    name: 'coco', 'crowdpose', ...), ``img_dir``,
    optional ``black_list`` (indices into that file). Files are read in the given order.

    Item ``i`` (a dict): ``person_ids`` (n,) int64, ``joints`` (n,12,3) float32 box-normalised
    AlphaPose (x̂, ŷ, score), ``target`` (n,12,3) float32 box-normalised GT (x̂, ŷ, v), ``boxes``
    (n,4) float32 image px, ``image`` index, and with ``crops=True`` ``inps`` (n,3,320,256) from
    ``opec.data.crop.crop_large``.
    """

    def __init__(self, annotations: list[dict], crops: bool = True):
        self.images: list[TrainImage] = []
        for spec in annotations:
            self.images += read_train_json(spec["json_file"], spec["type"], spec["img_dir"],
                                           spec.get("black_list", ()))
        if not self.images:
            files = ", ".join(str(a["json_file"]) for a in annotations)
            raise ValueError(f"{files}: no training images left after the black lists")
        check_images_exist([im.image_path for im in self.images], "training data")
        counts = np.array([len(im.boxes) for im in self.images])
        self.offsets = np.concatenate([[0], np.cumsum(counts)])
        boxes = np.concatenate([im.boxes for im in self.images])
        self.boxes = boxes
        # float64 dts and float32 gts before the cast, as the original (docs/training.md).
        self.joints = _normalised(np.concatenate([im.dts for im in self.images]), boxes.astype(np.float64))
        self.target = _normalised(np.concatenate([im.gts for im in self.images]), boxes)
        self.crops = crops

    @property
    def num_persons(self) -> int:
        return int(self.offsets[-1])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        lo, hi = self.offsets[i], self.offsets[i + 1]
        item = {
            "image": i,
            "person_ids": np.arange(lo, hi),
            "joints": self.joints[lo:hi],
            "target": self.target[lo:hi],
            "boxes": self.boxes[lo:hi],
        }
        if self.crops:
            image = read_image(self.images[i].image_path)
            item["inps"] = crop_module.crop_large(image, self.boxes[lo:hi])[0]
        return item


class TestDataset(Dataset):
    """One item per predicted person of ``pred_json`` (docs/datasets.md); ``dataset`` (an
    ``opec.datasets`` name) gives the image file of each ``image_id``.

    Item: ``person_ids`` (1,), ``joints`` (1,12,3) box-normalised, ``boxes`` (1,4), and with
    ``crops=True`` ``inps`` (1,3,320,256). ``predictions`` keeps the validated entries (the
    evaluation writes refined joints into copies of them).
    """

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, pred_json: str | Path, img_dir: str | Path, crops: bool = True, dataset: str = "crowdpose"):
        from opec.datasets import dataset_spec

        self.pred_json = Path(pred_json)
        self.predictions = read_predictions(pred_json)
        if not self.predictions:
            raise ValueError(f"{pred_json}: no predictions to refine")
        spec = dataset_spec(dataset)
        self.image_paths = [Path(img_dir) / spec.image_file_name(p["image_id"]) for p in self.predictions]
        check_images_exist(self.image_paths, f"test data ({pred_json})")
        self.boxes = np.asarray([p["bbox"] for p in self.predictions], dtype=np.float32)
        kps = np.asarray([p["keypoints"] for p in self.predictions], dtype=np.float64)
        self.initial = kps.reshape(-1, NUM_JOINTS, 3)  # image px (x, y, AlphaPose score)
        self.joints = _normalised(self.initial, self.boxes.astype(np.float64))
        self.crops = crops

    @property
    def num_persons(self) -> int:
        return len(self.predictions)

    def __len__(self) -> int:
        return len(self.predictions)

    def __getitem__(self, i: int) -> dict:
        item = {
            "image": i,
            "person_ids": np.arange(i, i + 1),
            "joints": self.joints[i:i + 1],
            "boxes": self.boxes[i:i + 1],
        }
        if self.crops:
            image = read_image(self.image_paths[i])
            item["inps"] = crop_module.crop_large(image, self.boxes[i:i + 1])[0]
        return item


def collate_persons(items: list[dict]) -> dict:
    """Concatenate the persons of ``items`` along dim 0 (train and test alike).

    Returns ``person_ids`` (P,) int64, ``joints`` (P,12,3), ``target`` (P,12,3) when present,
    ``boxes`` (P,4), ``images`` list of item indices, ``inps`` (P,3,H,W) when crops were loaded.
    """
    batch = {
        "person_ids": torch.from_numpy(np.concatenate([it["person_ids"] for it in items])),
        "joints": torch.from_numpy(np.concatenate([it["joints"] for it in items])),
        "boxes": torch.from_numpy(np.concatenate([it["boxes"] for it in items])),
        "images": [it["image"] for it in items],
    }
    if "target" in items[0]:
        batch["target"] = torch.from_numpy(np.concatenate([it["target"] for it in items]))
    if "inps" in items[0]:
        batch["inps"] = torch.cat([torch.as_tensor(it["inps"]) for it in items])
    return batch
