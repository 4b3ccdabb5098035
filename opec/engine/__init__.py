"""Training and testing: the train loop (``trainer``), LR schedule (``lr``), checkpoints and resume
(``checkpoint``), cached frozen SPPE features (``features``), the evaluation protocol run after each
epoch (``testing``), torchrun helpers (``distributed``) and loggers (``loggers``)."""
