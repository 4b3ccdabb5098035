"""Everything a training run can check before its heavy work (the SPPE features) starts.

:func:`check_training_run` is called by ``opec-train`` (``tools/train.py``) after loading the
config and before the :class:`~opec.engine.trainer.Trainer` is built. It checks, in this order:

1. the command-line values (``--batch``, ``--epochs`` at least 1; ``--lr`` a finite number > 0);
2. the config values they override (``schedule.epochs``, ``schedule.lr``, ``train_data.batch_images``);
3. the device (``--device cuda`` needs a visible CUDA GPU);
4. the data: every training and test file is read and validated once, every image they name exists,
   the evaluation GT loads, and every test prediction's image is an image of that GT;
5. the feature network's weight files (``model.feature_net.weights`` / ``pretrained``), when the
   config names them, load with ``weights_only=True``;
6. the work dir can be created and written;
7. the resume state: under ``--resume`` ``last.pth`` must exist; when it is going to be resumed it must
   load with ``weights_only=True`` and its model must have exactly the keys and tensor shapes of the
   model the config builds (built here with random weights: no features are computed).

Every failure is a :class:`PreflightError` whose message is one line naming the file, field or option.
The returned :class:`RunPlan` says whether the run resumes (and from which epoch) or is already done.
"""
from __future__ import annotations

import copy
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch

from opec.engine import checkpoint as ckpt


class PreflightError(ValueError):
    """A training run's input is unusable (one line naming the file, field or option)."""


@dataclass
class RunPlan:
    """What the run will do: ``resume_from`` (``last.pth`` or None), the epoch it starts at
    (``start_epoch``, 0-based) and the total ``epochs``; ``finished`` when nothing is left to train."""

    work_dir: Path
    epochs: int
    resume_from: Path | None = None
    start_epoch: int = 0

    @property
    def finished(self) -> bool:
        return self.resume_from is not None and self.start_epoch >= self.epochs


def _positive_int(value, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PreflightError(f"{where}: expected a whole number >= 1, got {value!r}")
    return value


def _positive_float(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        shown = repr(float(value)) if isinstance(value, float) else repr(value)
        raise PreflightError(f"{where}: expected a finite number > 0, got {shown}")
    return float(value)


def _field(cfg, dotted: str, source: str):
    node = cfg
    for part in dotted.split("."):
        if not hasattr(node, "get") or part not in node:
            raise PreflightError(f"{source}: config field {dotted!r} is missing")
        node = node[part]
    return node


def check_values(cfg, *, batch_images=None, epochs=None, lr=None) -> tuple[int, float, int]:
    """(epochs, lr, batch_images) after the command-line overrides, each checked."""
    source = cfg.filename if getattr(cfg, "filename", None) else cfg.name
    if batch_images is not None:
        _positive_int(batch_images, "--batch")
    if epochs is not None:
        _positive_int(epochs, "--epochs")
    if lr is not None:
        _positive_float(lr, "--lr")
    final_epochs = epochs if epochs is not None else _positive_int(
        _field(cfg, "schedule.epochs", source), f"{source}: schedule.epochs")
    final_lr = lr if lr is not None else _positive_float(_field(cfg, "schedule.lr", source), f"{source}: schedule.lr")
    final_batch = batch_images if batch_images is not None else _positive_int(
        _field(cfg, "train_data.batch_images", source), f"{source}: train_data.batch_images")
    return final_epochs, float(final_lr), final_batch


def check_device(device: str | None) -> None:
    if device == "cuda" and not torch.cuda.is_available():
        raise PreflightError("--device cuda: no CUDA GPU is visible to PyTorch (torch.cuda.is_available() "
                             "is False); use --device cpu")


def check_data(cfg) -> None:
    """Read every data file once (the readers validate each entry) and match predictions to the GT."""
    from opec.data.annotations import read_predictions
    from opec.datasets import dataset_spec
    from opec.data.datasets import TestDataset, TrainDataset
    from opec.evaluation import EvaluationError, KeypointEvaluator
    from opec.evaluation.validation import image_id_from

    source = cfg.filename if getattr(cfg, "filename", None) else cfg.name
    annotations = _field(cfg, "train_data.annotations", source)
    test = _field(cfg, "test_data", source)
    for key in ("pred_json", "best_json", "target_json", "img_dir"):
        _field(cfg, f"test_data.{key}", source)
    try:
        TrainDataset(list(annotations), crops=False)
        spec = dataset_spec(test.get("dataset", "crowdpose"))
        predictions = TestDataset(test.pred_json, test.img_dir, crops=False, dataset=spec.name).predictions
        read_predictions(test.best_json)
        gt = KeypointEvaluator(test.target_json, test.get("dataset", "crowdpose"), protocol="opec12").gt
    except ValueError as exc:  # DataError, EvaluationError, no images left after the black lists
        raise PreflightError(str(exc)) from None
    image_ids = set(gt.image_ids.tolist())
    for index, prediction in enumerate(predictions):
        raw = prediction["image_id"]
        image_id = gt.file_names.get(raw) if isinstance(raw, str) else None
        try:
            image_id = image_id if image_id is not None else image_id_from(raw, "", "")
        except EvaluationError:
            image_id = None
        if image_id not in image_ids:
            raise PreflightError(f"{test.pred_json}[{index}].image_id: {spec.image_file_name(raw)} is not an "
                                 f"image of the evaluation GT {test.target_json}")


WEIGHT_FIELDS = ("weights", "pretrained")


def check_feature_net_weights(cfg) -> None:
    """The feature network's weight files (when the config names them) exist and load with
    weights_only=True."""
    feature_net = (cfg.get("model") or {}).get("feature_net") or {}
    for field in WEIGHT_FIELDS:
        weights = feature_net.get(field)
        if not weights:
            continue
        path = Path(weights)
        if not path.is_file():
            raise PreflightError(f"{path}: model.feature_net.{field}: file not found (see weights/README.md)")
        _load_checkpoint(path, f"model.feature_net.{field}")


def _load_checkpoint(path: Path, what: str):
    """``torch.load(weights_only=True, mmap)``; a one-line error that never suggests weights_only=False."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # truncated zip, a darknet file, a pickle with code, ...
        kind = type(exc).__name__
        raise PreflightError(f"{path}: {what}: not a readable PyTorch checkpoint (truncated, or another kind "
                             f"of file; {kind})") from None


def check_work_dir(work_dir: Path) -> None:
    """``work_dir`` exists as a folder or can be created, and a file can be written in it."""
    existing = work_dir
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise PreflightError(f"{work_dir}: --work-dir: {existing} is a file, not a folder")
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=work_dir):
            pass
    except OSError as exc:
        raise PreflightError(f"{work_dir}: --work-dir: cannot write there ({exc.strerror})") from None


def check_resume(cfg, work_dir: Path, resume: str, epochs: int) -> RunPlan:
    """The :class:`RunPlan`: ``resume`` is 'auto', 'yes' (``last.pth`` must exist) or 'no'."""
    plan = RunPlan(work_dir=work_dir, epochs=epochs)
    last = work_dir / ckpt.LAST_STATE
    if resume == "yes" and not last.is_file():
        raise PreflightError(f"{last}: --resume: no training state to resume from")
    if resume == "no" or not last.is_file():
        return plan
    state = _load_checkpoint(last, "the training state")
    if not isinstance(state, dict):
        raise PreflightError(f"{last}: the training state: expected a dict, got {type(state).__name__}")
    for key in ("model", "optimizer", "next_epoch", "best_ap", "history", "rng"):
        if key not in state:
            raise PreflightError(f"{last}: the training state lacks the field {key!r}")
    _check_model_matches(cfg, state["model"], last)
    plan.resume_from, plan.start_epoch = last, int(state["next_epoch"])
    return plan


def _check_model_matches(cfg, saved: dict, last: Path) -> None:
    """``saved`` has exactly the keys and shapes of the model ``cfg`` builds (random weights)."""
    from opec.refiner import build_model

    model_cfg = copy.deepcopy(dict(cfg.model))
    if model_cfg.get("fine_tune"):
        # the keys and shapes do not depend on the weights
        model_cfg["feature_net"] = {k: (None if k in WEIGHT_FIELDS else v) for k, v in model_cfg["feature_net"].items()}
        placeholder = None
    else:
        placeholder = torch.nn.Identity()  # a frozen feature network is not part of the saved model
    with torch.random.fork_rng(devices=[]):
        expected = build_model(model_cfg, feature_net=placeholder).checkpoint_state()
    hint = "use --no-resume or another --work-dir to start afresh"
    missing = [k for k in expected if k not in saved]
    extra = [k for k in saved if k not in expected]
    if missing or extra:
        which = (f"lacks {len(missing)} of the model's tensors (first: {missing[0]})" if missing
                 else f"has {len(extra)} tensors the model lacks (first: {extra[0]})")
        raise PreflightError(f"{last}: model {which}: it was trained with another model config; {hint}")
    for key, tensor in expected.items():
        got = saved[key]
        if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(tensor.shape):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            raise PreflightError(f"{last}: model.{key} has shape {shape}, the config's model needs "
                                 f"{tuple(tensor.shape)}; {hint}")


def check_training_run(cfg, *, work_dir: str | Path | None = None, resume: str = "auto", batch_images=None,
                       epochs=None, lr=None, device: str | None = None) -> RunPlan:
    """All checks of the module docstring, cheapest first; returns the :class:`RunPlan`."""
    final_epochs, _, _ = check_values(cfg, batch_images=batch_images, epochs=epochs, lr=lr)
    check_device(device)
    work = Path(work_dir or Path(cfg.get("work_root", "checkpoints")) / cfg.name)
    plan = check_resume(cfg, work, resume, final_epochs)
    if plan.finished:
        return plan
    check_data(cfg)
    check_feature_net_weights(cfg)
    check_work_dir(work)
    return plan


def main_process() -> bool:
    """True on the process that reports (rank 0 under torchrun; the process is not initialised yet)."""
    return int(os.environ.get("RANK", "0")) == 0
