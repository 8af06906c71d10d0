#!/usr/bin/env bash
# Trains the paper's section 5.1 UCI architecture (tanh layer, then a stochastic layer with an
# autoregressive prior; p(X|H) with autoregressive connections) on adult, mushrooms and nips, two
# sizes each; the size is chosen on the validation split by benchmarks/eval_uci.py.
set -euo pipefail
mkdir -p runs/uci
for set in adult mushrooms nips; do
  for size in "100 16" "300 64"; do
    read -r hidden latent <<< "$size"
    out="runs/uci/$set-h$hidden-z$latent.safetensors"
    [ -e "$out" ] && continue
    darncodec train --corpus "uci/$set" -o "$out" --hidden "$hidden" --latent "$latent" --visible full \
      --optimizer adam --lr 1e-3 --lr-decay 0.995 --epochs 2000 --patience 30 --max-minutes 8 --threads 1 --seed 0
  done
done
