#!/usr/bin/env bash
# Evaluate OPEC-Net: bash test.sh CHECKPOINT_DIR CONFIG [--all] [--initial] [tools/test.py options]
# Evaluates CHECKPOINT_DIR/best_checkpoint.pth (every <epoch>.pth with --all) on the config's test
# data and prints AP without / with best match and the full metric set.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: bash test.sh CHECKPOINT_DIR CONFIG [--all] [--initial]" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$root/tools/setup_env.sh"
venv="${OPEC_VENV:-$root/.venv}"
dir="$1"; config="$2"; shift 2
exec "$venv/bin/python" "$root/tools/test.py" "$config" --load-dir "$dir" "$@"
