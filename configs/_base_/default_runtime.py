# Run-time settings shared by every experiment.
work_root = 'checkpoints'  # checkpoints/<config name>/ holds *.pth, mAP.txt, log.jsonl, images/
seed = 0
amp = False  # float16 autocast + grad scaling (CUDA only); --amp on the command line
# Frozen SPPE features computed once and reused every epoch (non-Alpha variants):
# storage 'memory' | 'disk' (memory-mapped files under <work dir>/feature_cache/, reused by resumes)
# | None (recompute every batch, as the original); dtype 'float32' | 'float16' (half the size).
feature_cache = dict(storage='disk', dtype='float32', batch_size=32)  # ~4.6 MB per person in float32
visdom = None  # e.g. dict(server='http://localhost', port=8097, env='opec'); see docs/visualization.md
tensorboard = False
log_persons = 4  # persons of the first test image drawn before/after each epoch
