#!/usr/bin/env bash
# Train OPEC-Net: bash train.sh BATCH CONFIG [extra tools/train.py options]
#   BATCH: images per batch (per process); CONFIG: e.g. configs/OPEC_GCN_CrowdPose_Test.py
# Uses every visible GPU (torchrun + DDP when there are several); NPROC=N forces N processes
# (on a CPU-only machine: N gloo processes). For several nodes call torchrun yourself (docs/training.md).
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash train.sh BATCH CONFIG [tools/train.py options]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$root/tools/setup_env.sh"
venv="${OPEC_VENV:-$root/.venv}"
batch="$1"; config="$2"; shift 2
nproc="${NPROC:-$("$venv/bin/python" -c 'import torch; print(torch.cuda.device_count())')}"
if [ "$nproc" -gt 1 ]; then
  exec "$venv/bin/torchrun" --standalone --nproc_per_node="$nproc" "$root/tools/train.py" "$config" --batch "$batch" "$@"
fi
exec "$venv/bin/python" "$root/tools/train.py" "$config" --batch "$batch" "$@"
