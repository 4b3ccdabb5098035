"""Mixed precision on the CPU: the trainer's autocast path run with bfloat16, so the dtype handling of
the AMP code (autocast region, float32 loss, optional gradient scaling) is tested without a GPU.
The float16 + gradient-scaling variant needs CUDA: tests/cuda/test_cuda.py."""
import pytest
import torch

from opec.config import load_config
from opec.engine.trainer import Trainer, amp_dtype

# bfloat16 keeps 8 significant bits (relative rounding 2^-9 per value). On the tiny data the first
# step's loss differs from float32 by 0.09 % and the gradient has cosine 0.996 with float32's (norm
# within 0.4 %); the tolerances allow 10x that, while a wrong dtype path (no autocast, float16 on the
# CPU, an unscaled or float16 loss) fails them or the dtype checks.
LOSS_RTOL = 1e-2
GRAD_NORM_RTOL = 4e-2
GRAD_COSINE_MIN = 0.96


def test_amp_setting_parsing():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert amp_dtype(False, cpu) is None and amp_dtype(None, cuda) is None
    assert amp_dtype(True, cuda) == torch.float16 and amp_dtype("fp16", cuda) == torch.float16
    assert amp_dtype("bfloat16", cpu) == torch.bfloat16 and amp_dtype("bf16", cuda) == torch.bfloat16
    with pytest.warns(UserWarning, match="float16 mixed precision needs CUDA"):
        assert amp_dtype("float16", cpu) is None
    with pytest.raises(ValueError, match="amp: expected"):
        amp_dtype("int8", cpu)


def first_step(cfg_path, work, amp, device="cpu"):
    """Set up a trainer, run one train step on the first batch; returns the loss, the gradients,
    the dtype the refiner's first layer computed in, and whether gradient scaling was on.

    With float16 gradient scaling a step whose scaled gradients overflow is skipped (no parameter
    changes) and the scale lowered; the step is then repeated on the same batch, as training would
    with the next one. (Also used by the CUDA tests, test_engine_cuda.py.)
    """
    torch.set_num_threads(1)
    trainer = Trainer(load_config(cfg_path), work_dir=work, device=device, resume="no", amp=amp)
    trainer.setup()
    try:
        batch = next(iter(trainer.train_loader))
        seen = []
        first_layer = next(m for m in trainer.model.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)))
        hook = first_layer.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
        joints, target = batch["joints"].to(trainer.device), batch["target"].to(trainer.device)
        for _ in range(24):
            scale = trainer.scaler.get_scale()
            loss, terms, grad_norm = trainer.train_step(joints, trainer.features(batch, "train"), target, clip=1e9)
            if not trainer.scaler.is_enabled() or trainer.scaler.get_scale() >= scale:
                break
        hook.remove()
        grads = torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])
        return loss.detach().cpu(), grads.cpu(), seen[0], trainer.scaler.is_enabled()
    finally:
        trainer.loggers.close()


def test_bfloat16_train_step_is_finite_and_close_to_float32(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data)
    loss32, grads32, dtype32, scaled32 = first_step(cfg, tmp_path / "fp32", amp=None)
    loss16, grads16, dtype16, scaled16 = first_step(cfg, tmp_path / "bf16", amp="bf16")
    assert dtype32 == torch.float32 and dtype16 == torch.bfloat16  # autocast really ran in bfloat16
    assert not scaled32 and not scaled16  # bfloat16 needs no gradient scaling
    assert loss16.dtype == torch.float32  # the loss is computed in float32
    assert torch.isfinite(loss16) and torch.isfinite(grads16).all()
    assert float(loss16) == pytest.approx(float(loss32), rel=LOSS_RTOL)
    cosine = torch.nn.functional.cosine_similarity(grads16.double(), grads32.double(), dim=0)
    assert cosine > GRAD_COSINE_MIN
    assert float(grads16.norm()) == pytest.approx(float(grads32.norm()), rel=GRAD_NORM_RTOL)


def test_bfloat16_epoch_from_the_config(tiny_data, tmp_path, make_config):
    cfg = make_config(tmp_path, tiny_data, amp="'bfloat16'")
    torch.set_num_threads(1)
    trainer = Trainer(load_config(cfg), work_dir=tmp_path / "w", device="cpu", epochs=1)
    assert trainer.amp_dtype == torch.bfloat16
    history = trainer.fit()
    assert len(history) == 1 and 0.0 <= history[0][1] <= 1.0
    state = torch.load(tmp_path / "w" / "last.pth", weights_only=True)
    assert state["scaler"] is None


def test_amp_command_line(tool):
    parse = tool("train").parse_args
    assert parse(["cfg.py"]).amp is None  # the config decides
    assert parse(["cfg.py", "--amp"]).amp == "float16"  # the original meaning of --amp
    assert parse(["cfg.py", "--amp", "bf16"]).amp == "bf16"
    with pytest.raises(SystemExit):
        parse(["cfg.py", "--amp", "int8"])
