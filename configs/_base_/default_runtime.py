# Run-time settings shared by every experiment.
work_root = 'checkpoints'  # checkpoints/<config name>/ holds *.pth, mAP.txt, log.jsonl, images/
seed = 0
amp = False  # True/'float16': float16 autocast + grad scaling (CUDA only); 'bfloat16': bf16 autocast (CUDA or CPU); --amp [bf16]
# Frozen SPPE features computed once and reused every epoch (non-Alpha variants, docs/training.md):
# storage 'memory' | 'disk' (memory-mapped files under <work dir>/feature_cache/, reused by resumes and
# test.sh) | None (recompute every batch, as the original); dtype 'float32' | 'float16';
# taps 'all' (4.6 MB per person in float32) | 'first' (tap 0 only, 0.66 MB per person in float32; the
# SPPE's DUC layers, 6 of its 32 GFLOP, are recomputed every step).
feature_cache = dict(storage='disk', dtype='float16', taps='first', batch_size=32)
visdom = None  # e.g. dict(server='http://localhost', port=8097, env='opec'); see docs/visualization.md
tensorboard = False
log_persons = 4  # persons of the first test image drawn before/after each epoch
