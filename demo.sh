#!/usr/bin/env bash
# The demo (README command 1): set up, generate a small synthetic crowd, train OPEC-Net on the CPU
# for a few epochs, evaluate, print mAP.txt and say where everything is. About 1.5 minutes on 2 idle cores
# after the one-time set-up. Extra arguments go to tools/train.py (e.g. --visdom localhost:8097, --epochs 3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
bash tools/setup_env.sh
py="${OPEC_VENV:-$root/.venv}/bin/python"
config=configs/demo_synthetic.py
work=checkpoints/demo_synthetic
start=$(date +%s)

echo "== 1/4 generating the synthetic dataset (data/demo)"
"$py" tools/make_demo_data.py --out data/demo --train-images 60 --test-images 20

echo "== 2/4 training $config (FastPose with RANDOM weights: no pretrained SPPE in the demo)"
"$py" tools/train.py "$config" --no-resume --device cpu "$@"

echo "== 3/4 evaluating $work/best_checkpoint.pth"
"$py" tools/test.py "$config" --load-dir "$work" --initial --device cpu

echo "== 4/4 results"
echo "mAP.txt (epoch, AP without best match, AP with best match):"
cat "$work/mAP.txt"
cat <<MSG

Done in $(( $(date +%s) - start )) s. Everything is in $work/:
  mAP.txt                 one line per epoch (as the original)
  best_checkpoint.pth     best epoch by AP without best match; <epoch>.pth per epoch; last.pth (resume state)
  log.jsonl               every scalar (loss terms, lr, timings, both APs and all metrics per epoch)
  images/before_after_*.png   initial vs refined joints of the first test image, per epoch
Dashboard: start 'python tools/visdom_server.py' (works offline) and rerun with
  bash demo.sh --visdom localhost:8097      then open http://localhost:8097 (env demo_synthetic)
Plot the curve: python tools/plot_map.py $work/mAP.txt
MSG
