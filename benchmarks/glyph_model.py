"""A glyph DARN on glyphs it never saw (issue 11): -ELBO of each page's dictionary of the decision set.

Held-out glyphs: the distinct connected components of each rendered decision page
(darncodec.corpora.rendered; the glyph corpus renders single characters and cuts the scans, never
these pages), placed as the glyph corpus places them (top-left of the model's tile, larger ones in
pieces). For each model: the float -ELBO (paper Eq. 9, mean of 10 draws of h ~ q) and the quantised
model's -ELBO (what bits-back coding of the tiles alone would cost), in nats per tile and bits per
glyph; the models must share a tile size. Never reads the CCITT pages.

    python -m benchmarks.glyph_model [--models glyphs,docs32] [--json docs/results/glyph_model.json]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch

from benchmarks.mnist_archive import machine
from darncodec.coding.network.elbo import negative_elbo_bits
from darncodec.coding.network.integer_model import IntegerDARN
from darncodec.corpora.glyphs import components, distinct, glyph_tiles_of
from darncodec.corpora.rendered import decision_pages
from darncodec.evaluation import negative_elbo
from darncodec.model.io import build_float_model
from darncodec.zoo import load_model_file

SAMPLES = 10


def held_out_glyphs(tile_h: int, tile_w: int) -> tuple[np.ndarray, int]:
    """(tiles, glyph count): every page's distinct glyphs, each page's dictionary in turn."""
    dictionaries = [distinct(components(bits)) for _, bits in decision_pages()]
    glyphs = [glyph for dictionary in dictionaries for glyph in dictionary]
    return glyph_tiles_of(glyphs, tile_h, tile_w), len(glyphs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="glyphs,docs32")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    files = [load_model_file(name) for name in args.models.split(",")]
    shapes = {(f.config.height, f.config.width) for f in files}
    if len(shapes) != 1:
        raise SystemExit(f"the models have different tile sizes: {sorted(shapes)}")
    (tile_h, tile_w), = shapes
    tiles, glyphs = held_out_glyphs(tile_h, tile_w)
    x_np = tiles.reshape(len(tiles), -1).astype(np.int64)
    mask_np = np.ones(x_np.shape, bool)
    x, mask = torch.as_tensor(x_np, dtype=torch.float32), torch.as_tensor(mask_np, dtype=torch.float32)
    rows = []
    for name, file in zip(args.models.split(","), files):
        net = build_float_model(file.config, file.tensors, file.source)
        generator = torch.Generator().manual_seed(0)
        nats = negative_elbo(net, x, mask, SAMPLES, generator)
        bits = negative_elbo_bits(IntegerDARN(file.config, file.tensors, "cpu"), x_np, mask_np,
                                  np.random.default_rng(0), SAMPLES)
        rows.append({"model": name, "hash": file.hash, "elbo_nats_per_tile": float(nats.mean()),
                     "quantised_elbo_nats_per_tile": float(bits.mean() * math.log(2)),
                     "quantised_bits_per_glyph": float(bits.sum() / glyphs)})
        print(json.dumps(rows[-1]), flush=True)
    result = {"tiles": len(tiles), "glyphs": glyphs, "tile": [tile_h, tile_w], "models": rows, "machine": machine()}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
