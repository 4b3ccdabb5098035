"""The training loop (docs/training.md), readable top to bottom, plus what the original lacked:
resume, torchrun/DDP, mixed precision, cached frozen features, loggers and progress bars.

One iteration (:meth:`Trainer.train_one_epoch`):

    batch (persons of ``batch_images`` images) -> the model's input from the feature source
    (frozen taps, live or cached; the crops when the feature network is fine-tuned) -> refiner ->
    ``opec_loss`` -> backward -> clip the global grad norm to 1 over all parameters -> Adam (no
    weight decay) with the per-iteration cosine LR.

After every epoch (:meth:`Trainer.end_epoch`): the protocol's two APs (``opec.engine.tester``), the
error-category rates of the replaced joints before / after refinement (log group ``occlusion``),
``<epoch>.pth``, ``best_checkpoint.pth`` when the without-best-match AP improved (selection on the
*test* split, as the original), the ``mAP.txt`` line, then ``last.pth`` (see ``checkpoint``).
"""
from __future__ import annotations

import math
import random
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from opec.analysis import ReplacedJointRates
from opec.data.datasets import TestDataset, TrainDataset, collate_persons
from opec.data.annotations import read_predictions
from opec.engine import checkpoint as ckpt
from opec.engine import distributed as dist_utils
from opec.engine.feature_sources import build_feature_source
from opec.engine.lr import cosine_lr, set_lr
from opec.engine.progress import Progress
from opec.engine.tester import evaluate_protocol, protocol_results, refine_persons
from opec.evaluation import KeypointEvaluator
from opec.evaluation.map_file import MAP_FILE, append_map_line, rewrite_map_file
from opec.fileio import atomic_save, atomic_write_text
from opec.keypoints import OPEC12
from opec.refiner import build_model, opec_loss


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Trainer:
    """Builds everything from a config and runs :meth:`fit`.

    ``overrides`` (CLI): ``batch_images``, ``epochs``, ``lr``, ``seed``, ``amp`` (see :func:`amp_dtype`),
    ``device``;
    ``resume``: 'auto' (continue when ``last.pth`` exists), 'yes' (must exist) or 'no' (fresh).
    """

    def __init__(self, cfg, work_dir: str | Path | None = None, resume: str = "auto", **overrides):
        self.cfg = cfg
        self.work_dir = Path(work_dir or Path(cfg.get("work_root", "checkpoints")) / cfg.name)
        self.resume = resume
        sched = cfg.schedule
        self.epochs = int(overrides.get("epochs") or sched.epochs)
        self.base_lr = float(overrides.get("lr") or sched.lr)
        self.batch_images = int(overrides.get("batch_images") or cfg.train_data.batch_images)
        self.seed = int(overrides["seed"] if overrides.get("seed") is not None else cfg.get("seed", 0))
        device = overrides.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        self.device = dist_utils.init(torch.device(device).type)
        amp = overrides.get("amp")
        self.amp_dtype = amp_dtype(cfg.get("amp", False) if amp is None else amp, self.device)
        self.amp = self.amp_dtype is not None
        self.fine_tune = bool(cfg.model.get("fine_tune", False))
        self.loggers = None

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        cfg, device = self.cfg, self.device
        seed_everything(self.seed)
        self.model = build_model(cfg.model).to(device)
        self.features = build_feature_source(cfg, self.model, device, self.work_dir)
        crops = self.features.needs_crops
        self.train_set = TrainDataset(list(cfg.train_data.annotations), crops=crops)
        test = cfg.test_data
        self.test_set = TestDataset(test.pred_json, test.img_dir, crops=crops, dataset=test.get("dataset", "crowdpose"))
        self.best_match = read_predictions(test.best_json)
        self.evaluator = KeypointEvaluator(test.target_json, test.get("dataset", "crowdpose"),
                                           protocol="opec12", convention=test.get("convention", "official"))
        # rates of the replaced joints' error categories, before / after refinement (opec.analysis)
        self.occlusion = (ReplacedJointRates(test.target_json, test.get("dataset", "crowdpose"),
                                             self.test_set.predictions) if dist_utils.is_main() else None)
        self.features.attach("train", self.train_set, [a["json_file"] for a in cfg.train_data.annotations])
        self.features.attach("test", self.test_set, [test.pred_json])
        # Fine-tuned: the feature network's heat-map head gets no gradient (OPEC discards the heat maps).
        self.net = (DistributedDataParallel(self.model, device_ids=[device.index] if device.type == "cuda" else None,
                                            find_unused_parameters=self.fine_tune)
                    if dist_utils.is_distributed() else self.model)
        # One group, no weight decay: the original's per-group LRs are overwritten every iteration.
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=self.base_lr, weight_decay=0.0)
        # Gradient scaling keeps float16's small gradients from flushing to zero; bfloat16 has
        # float32's exponent range and needs none.
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)

        self.sampler = DistributedSampler(self.train_set, num_replicas=dist_utils.world_size(),
                                          rank=dist_utils.rank(), shuffle=True, seed=self.seed)
        workers = int(cfg.train_data.get("num_workers", 4)) if crops else 0
        self.train_loader = DataLoader(self.train_set, batch_size=self.batch_images, sampler=self.sampler,
                                       num_workers=workers, collate_fn=collate_persons,
                                       pin_memory=device.type == "cuda", persistent_workers=workers > 0)
        self.test_batch = int(test.get("batch_size", 60))
        self.test_workers = int(test.get("num_workers", 4)) if crops else 0

        self.start_epoch, self.best_ap, self.history = 0, -math.inf, []
        self._resume_or_start()
        if dist_utils.is_main():
            from opec.engine.loggers import build_loggers
            self.loggers = build_loggers(self.work_dir, visdom=cfg.get("visdom"),
                                         tensorboard=bool(cfg.get("tensorboard", False)))

    def _resume_or_start(self) -> None:
        last = self.work_dir / ckpt.LAST_STATE
        if dist_utils.is_main() and self.work_dir.is_dir():
            ckpt.remove_temporaries(self.work_dir)  # left by a kill in the middle of a save
        if self.resume == "yes" and not last.is_file():
            raise FileNotFoundError(f"{last}: no training state to resume from")
        if self.resume != "no" and last.is_file():
            state = ckpt.load_state(last)
            self.model.load_checkpoint(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if state.get("scaler"):
                self.scaler.load_state_dict(state["scaler"])
            self.start_epoch, self.best_ap = int(state["next_epoch"]), float(state["best_ap"])
            self.history = [tuple(h) for h in state["history"]]
            ckpt.set_rng_state(state["rng"])
            if dist_utils.is_main():  # the state's history is authoritative (see checkpoint.py)
                rewrite_map_file(self.work_dir / MAP_FILE, self.history)
            self.resumed = True
        else:
            if dist_utils.is_main():  # a fresh run starts a fresh mAP.txt, as the original
                self.work_dir.mkdir(parents=True, exist_ok=True)
                atomic_write_text("", self.work_dir / MAP_FILE)
            self.resumed = False
        dist_utils.barrier()

    # ------------------------------------------------------------------ the loop
    def fit(self) -> list[tuple[int, float, float]]:
        """Train from ``start_epoch`` to ``epochs``; returns the mAP history (epoch, AP, AP_best)."""
        self.setup()
        try:
            if self.start_epoch == 0 and not self.resumed:
                self.log_initial()
            for epoch in range(self.start_epoch, self.epochs):
                self.train_one_epoch(epoch)
                self.end_epoch(epoch)
        finally:
            if self.loggers is not None:
                self.loggers.close()
        return self.history

    def train_one_epoch(self, epoch: int) -> None:
        net, optimizer, device = self.net, self.optimizer, self.device
        net.train()
        self.sampler.set_epoch(epoch)
        self.epoch_start = time.perf_counter()
        steps = len(self.train_loader)
        bar = Progress(steps, f"epoch {epoch}/{self.epochs}", "batch")
        clip = float(self.cfg.schedule.get("clip_grad_norm", 1.0))
        tick = time.perf_counter()
        for i, batch in enumerate(self.train_loader):
            data_time = time.perf_counter() - tick
            model_input = self.features(batch, "train")           # taps, or crops when fine-tuning
            joints = batch["joints"].to(device, non_blocking=True)  # (P,12,3) box-normalised x̂, ŷ, score
            target = batch["target"].to(device, non_blocking=True)  # (P,12,3) box-normalised x̂, ŷ, v

            lr = cosine_lr(epoch + i / steps, self.base_lr, self.epochs, **self.cfg.schedule.lr_schedule)
            set_lr(optimizer, lr)
            loss, terms, grad_norm = self.train_step(joints, model_input, target, clip)

            batch_time = time.perf_counter() - tick
            tick = time.perf_counter()
            loss_value = float(loss.detach())
            bar.set_postfix(loss=f"{loss_value:.4f}", lr=f"{lr:.2e}", data=f"{data_time:.3f}s",
                            batch=f"{batch_time:.3f}s", persons=len(joints))
            bar.update()
            if self.loggers is not None:
                self.loggers.log_scalars(epoch * steps + i, {
                    "loss": loss_value, **{k: float(v) for k, v in terms.items()}, "lr": lr,
                    "grad_norm": float(grad_norm), "persons": len(joints),
                    "data_time": data_time, "batch_time": batch_time}, group="train")
        bar.close()
        self.train_seconds = time.perf_counter() - self.epoch_start

    def train_step(self, joints, model_input, target, clip: float):
        """One optimisation step: forward (under autocast when ``amp`` is set) -> ``opec_loss`` in
        float32 -> backward (scaled for float16) -> global grad-norm clip -> Adam.

        ``joints``/``target`` (P,12,3) on the device, ``model_input`` the frozen taps or the crops.
        Returns (loss, loss terms, grad norm before clipping).
        """
        optimizer = self.optimizer
        with torch.autocast(self.device.type, dtype=self.amp_dtype or torch.float32, enabled=self.amp):
            output = self.net(joints, model_input)
        loss, terms = opec_loss(_to_float(output), target)

        optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(optimizer)  # gradients in true units before clipping (no-op without scaling)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), clip)
        self.scaler.step(optimizer)
        self.scaler.update()
        return loss, terms, grad_norm

    def evaluate(self):
        """Refined joints of the test set (rank 0; None elsewhere)."""
        if dist_utils.is_distributed():  # every rank evaluates with rank 0's BatchNorm statistics
            for buffer in self.model.buffers():
                torch.distributed.broadcast(buffer, src=0)
        return refine_persons(self.net.module if isinstance(self.net, DistributedDataParallel) else self.net,
                              self.test_set, lambda batch: self.features(batch, "test"), self.device,
                              self.test_batch, self.test_workers)

    def log_initial(self) -> None:
        """The unrefined predictions' APs (what the refinement must beat)."""
        if not dist_utils.is_main():
            return
        plain, best = evaluate_protocol(self.evaluator, self.test_set, None, self.best_match)
        self.initial = (plain["AP"], best["AP"])
        print(f"[initial] AP {plain['AP']:.4f} (without best match)  {best['AP']:.4f} (best match)", flush=True)
        self.loggers.log_scalars(0, _defined({"AP": plain["AP"], "AP_best": best["AP"]}), group="initial",
                                 index="epoch")

    def end_epoch(self, epoch: int) -> None:
        refined = self.evaluate()
        metrics = None
        if dist_utils.is_main():
            plain, best = evaluate_protocol(self.evaluator, self.test_set, refined, self.best_match)
            metrics = (plain["AP"], best["AP"])
            self.loggers.log_scalars(epoch, _defined({"AP": plain["AP"], "AP_best": best["AP"],
                                                      **{f"plain/{k}": v for k, v in plain.items()},
                                                      **{f"best/{k}": v for k, v in best.items()}}),
                                     group="eval", index="epoch")
            self.loggers.log_scalars(epoch, self.occlusion.rates(protocol_results(self.test_set, refined, [])[0]),
                                     group="occlusion", index="epoch")
            self._log_panel(epoch, refined)
        ap, ap_best = dist_utils.broadcast_from_main(metrics)
        if dist_utils.is_main():
            self._save_epoch(epoch, ap, ap_best)
        else:
            self.best_ap = max(self.best_ap, ap)
            self.history.append((epoch, ap, ap_best))
        dist_utils.barrier()
        if dist_utils.is_main():
            total = time.perf_counter() - self.epoch_start
            print(f"[epoch {epoch}] AP {ap:.4f} (without best match)  {ap_best:.4f} (best match)  "
                  f"[train {self.train_seconds:.1f} s, epoch total {total:.1f} s]", flush=True)

    def _save_epoch(self, epoch: int, ap: float, ap_best: float) -> None:
        weights = self.model.checkpoint_state()
        atomic_save(weights, self.work_dir / f"{epoch}.pth")
        if ap > self.best_ap:  # selected on the test split by the without-best-match AP (as the original)
            self.best_ap = ap
            atomic_save(weights, self.work_dir / ckpt.BEST_CHECKPOINT)
        self.history.append((epoch, ap, ap_best))
        append_map_line(self.work_dir / MAP_FILE, epoch, ap, ap_best)
        atomic_save({
            "model": weights, "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "next_epoch": epoch + 1, "best_ap": self.best_ap, "history": self.history,
            "rng": ckpt.rng_state(), "config": self.cfg.name,
        }, self.work_dir / ckpt.LAST_STATE)

    def _log_panel(self, epoch: int, refined: np.ndarray) -> None:
        """Before/after picture of the persons of the first test image (visualisation optional)."""
        try:
            from opec.visualization import before_after_panel
        except ImportError:
            if epoch == self.start_epoch:
                warnings.warn("opec.visualization is not available: no before/after images", stacklevel=2)
            return
        from opec.data.annotations import read_image
        ds = self.test_set
        first = ds.predictions[0]["image_id"]
        idx = [i for i, p in enumerate(ds.predictions) if p["image_id"] == first][: int(self.cfg.get("log_persons", 4))]
        plain, _ = protocol_results(ds, refined, [])
        after = np.asarray([plain[i]["keypoints"] for i in idx]).reshape(len(idx), -1, 3)
        panel = before_after_panel(read_image(ds.image_paths[idx[0]]), ds.initial[idx], after, OPEC12,
                                   boxes=ds.boxes[idx])
        self.loggers.log_image(epoch, "before_after", panel)


AMP_DTYPES = {"float16": torch.float16, "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}


def amp_dtype(setting, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of the ``amp`` setting (config ``amp`` / ``--amp``), or None for float32.

    ``False``/``None`` -> float32; ``True`` or 'float16' ('fp16') -> float16 with gradient scaling
    (CUDA only: on a CPU it warns and trains in float32); 'bfloat16' ('bf16') -> bfloat16 autocast,
    on CUDA or CPU (no gradient scaling needed).
    """
    if setting is None or setting is False:
        return None
    if setting is True:
        setting = "float16"
    if setting not in AMP_DTYPES:
        raise ValueError(f"amp: expected False, True, 'float16' or 'bfloat16', got {setting!r}")
    dtype = AMP_DTYPES[setting]
    if dtype == torch.float16 and device.type != "cuda":
        warnings.warn("float16 mixed precision needs CUDA; training in float32 on the CPU "
                      "(amp='bfloat16' runs on a CPU)", stacklevel=3)
        return None
    return dtype


def _to_float(output):
    """Refiner outputs in float32 for the loss (autocast may give float16)."""
    return type(output)([s.float() for s in output.stages], output.points.float())


def _defined(metrics: dict) -> dict:
    """``metrics`` with the evaluator's "undefined" value (-1: e.g. AP_easy on a split without easy
    images) as None, so that the logs say "no value" and the dashboard leaves it out."""
    return {k: None if v == -1 else v for k, v in metrics.items()}
