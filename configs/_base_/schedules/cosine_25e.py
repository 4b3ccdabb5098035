# The original schedule (docs/training.md): Adam (no weight decay), global grad-norm clip 1,
# per-iteration cosine LR from 1e-3 with one linear warm-up epoch from 1e-5 and a 1e-5 floor, 25 epochs.
schedule = dict(
    epochs=25,
    lr=1e-3,
    clip_grad_norm=1.0,
    lr_schedule=dict(warmup_lr=1e-5, warmup_epochs=1, min_lr=1e-5),
)
