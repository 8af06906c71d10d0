"""What coding tiles independently costs (issue 5): a static context model with and without tile borders.

A table of P(ink | the pattern of the n nearest causal neighbours) is counted on the non-test document
images (Leptonica, viewfax, the JBIG-KIT examples) except a held-out few, then the held-out images'
ideal code length is summed three ways: context read across the whole page, and context cut at the
borders of 32x32 and 64x64 tiles (neighbours outside the tile read as white, as in darncodec's
visible layer today). JBIG1 (pbmtojbg -q, adaptive) on the same held-out images is the yardstick.
Never reads the CCITT pages.

    python -m benchmarks.tile_borders [--json docs/results/tile_borders.json]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.mnist_archive import emit, machine
from darncodec.bench.baselines import to_pbm
from darncodec.corpora import data_root
from darncodec.imageio import read_bilevel
from darncodec.model.neighbourhood import causal_offsets, table_columns

HELD_OUT = ("bois-3.tif", "arabic2.png", "chars-14.tif", "cootoots.png", "baseline2.tif", "boismort.15.tif")
RADIUS = 5


def context_codes(bits: np.ndarray, offsets: list[tuple[int, int]], tile: int | None) -> np.ndarray:
    """The pattern of ``offsets`` around every pixel as an integer; cut at tile borders if ``tile``."""
    height, width = bits.shape
    padded = np.zeros((height + RADIUS, width + 2 * RADIUS), np.int64)
    padded[RADIUS:, RADIUS:RADIUS + width] = bits
    rows, cols = np.mgrid[0:height, 0:width]
    code = np.zeros((height, width), np.int64)
    for k, (dy, dx) in enumerate(offsets):
        value = padded[RADIUS + dy:RADIUS + dy + height, RADIUS + dx:RADIUS + dx + width]
        if tile:
            value = value * (((rows % tile) + dy >= 0) & ((cols % tile) + dx >= 0) & ((cols % tile) + dx < tile))
        code |= value << k
    return code.ravel()


def jbig1_bytes(bits: np.ndarray) -> int:
    with tempfile.TemporaryDirectory() as folder:
        pbm, jbg = Path(folder, "a.pbm"), Path(folder, "a.jbg")
        pbm.write_bytes(to_pbm(bits))
        subprocess.run(["pbmtojbg", "-q", str(pbm), str(jbg)], check=True)
        return jbg.stat().st_size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    root = data_root() / "bilevel_docs"
    paths = sorted(p for folder in ("leptonica", "viewfax", "jbigkit_examples") for p in (root / folder).iterdir()
                   if p.suffix.lower() in {".png", ".tif", ".tiff", ".pbm"})
    images = [(path.name, bits) for path in paths for _, bits in read_bilevel(path, threshold=0.5)]
    held_out = [bits for name, bits in images if name in HELD_OUT]
    rows = []
    for pixels in (10, 16):
        offsets = [causal_offsets(RADIUS)[k] for k in table_columns(RADIUS, pixels)]
        for tile in (None, 32, 64):
            ones, zeros = np.zeros(1 << pixels), np.zeros(1 << pixels)
            for name, bits in images:
                if name not in HELD_OUT:
                    code, x = context_codes(bits, offsets, tile), bits.ravel()
                    ones += np.bincount(code, weights=x, minlength=len(ones))
                    zeros += np.bincount(code, weights=1 - x, minlength=len(zeros))
            p_ink = (ones + 0.4) / (ones + zeros + 0.8)
            total = 0.0
            for bits in held_out:
                code, x = context_codes(bits, offsets, tile), bits.ravel()
                total -= np.log2(np.where(x == 1, p_ink[code], 1 - p_ink[code])).sum()
            rows.append({"context_pixels": pixels, "tile": tile, "held_out_bytes": round(total / 8)})
            print(rows[-1], flush=True)
    result = {"held_out": list(HELD_OUT), "static_context_model": rows,
              "jbig1_bytes": sum(jbig1_bytes(bits) for bits in held_out), "machine": machine()}
    emit(result, args.json)


if __name__ == "__main__":
    main()
