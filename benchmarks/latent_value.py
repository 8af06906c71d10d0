"""What the DARN's latent code is worth once page-adaptive mixing (coder 3) codes the pixels (issue 5).

On the decision set of benchmarks/adaptive_gain.py (non-test images only), each image as one batch:
the ideal code length of the pixels (sum of -log2 P) coded by coder 3's mixing with the DARN's logits
for h = the mode of q(h|x), and with no DARN input at all; and what h costs by bits back for a draw
of q (-log2 p(h) + log2 q(h|x), summed over tiles). coder 3 keeps the DARN for a batch only where
the first minus the second outweighs the third.

    python -m benchmarks.latent_value [--model NAME|PATH] [--json docs/results/latent_value.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.adaptive_gain import images
from benchmarks.mnist_archive import machine
from darncodec.codec import coding_model
from darncodec.coding.bitsback import BitsBackCodec, most_likely
from darncodec.coding.container import CODER_RASTER
from darncodec.coding.network.elbo import information_bits, sample_posterior, tile_probabilities
from darncodec.coding.tiling import to_tiles


def mixed_pixel_bits(model, bits: np.ndarray, x: np.ndarray, mask: np.ndarray, grid: np.ndarray) -> float:
    contexts = model.adaptive_contexts(CODER_RASTER)
    contexts.enter_group(0, [bits.shape], 0)
    stage = contexts.batch(0, mask)
    stage.count_pass(x)
    return float(information_bits(x, stage.encode(grid, x) / 2.0 ** 24, mask).sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    model = coding_model(args.model)
    net = model.network
    rng = np.random.default_rng(0)
    rows = []
    for name, bits in images():
        x, mask = to_tiles(bits, *model.tile)
        hs = BitsBackCodec(net).draw_posterior(x, lambda: most_likely)
        grid = net.grid_logits(net.visible_logits(net.visible_context(hs), x)).astype(np.int64)
        drawn = sample_posterior(net, x, rng)
        probs = tile_probabilities(net, x, drawn)
        h_bits = sum(float((information_bits(h, p) - information_bits(h, q)).sum())
                     for h, p, q in zip(drawn, probs.prior, probs.posterior))
        rows.append({"image": name, "with_darn_bytes": mixed_pixel_bits(model, bits, x, mask, grid) / 8,
                     "without_darn_bytes": mixed_pixel_bits(model, bits, x, mask, np.zeros_like(grid)) / 8,
                     "latent_bytes": h_bits / 8})
        print(rows[-1], flush=True)
    totals = {key: sum(row[key] for row in rows) for key in ("with_darn_bytes", "without_darn_bytes", "latent_bytes")}
    print(json.dumps(totals))
    if args.json:
        Path(args.json).write_text(json.dumps({"model": model.file.source, "images": rows, "totals": totals,
                                               "machine": machine()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
