"""What page-adaptive mixing gains over static coding (issue 5), on the images its design was chosen on.

Non-test images only: the six held-out document images of benchmarks/tile_borders.py (the default
model saw them in training, which flatters static coding, if anything) and two pages rendered by the
documents recipe with a seed its training did not use. Each image is compressed alone, static
(`compress --static`, coder 1), with the first page-adaptive mixing (tile position by tile position,
coder 2) and with the default (page raster order, coder 3); JBIG1 (pbmtojbg -q) is the yardstick.
Never reads the CCITT pages.

    python -m benchmarks.adaptive_gain [--model NAME|PATH] [--json docs/results/adaptive_gain.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from benchmarks.mnist_archive import machine
from benchmarks.tile_borders import HELD_OUT, jbig1_bytes
from darncodec.codec import coding_model, compress
from darncodec.corpora import data_root
from darncodec.corpora.documents import rendered_pages
from darncodec.imageio import read_bilevel

RENDER_SEED = 11    # the documents corpus renders its training pages with seed 0
CODINGS = ("static", "adaptive-tiles", "adaptive")   # coder ids 1, 2, 3


def images() -> list[tuple[str, object]]:
    root = data_root() / "bilevel_docs" / "leptonica"
    found = [(name, bits) for name in HELD_OUT for _, bits in read_bilevel(root / name, threshold=0.5)]
    return found + [(f"rendered page {i} (seed {RENDER_SEED})", page)
                    for i, page in enumerate(rendered_pages(2, seed=RENDER_SEED))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    model = coding_model(args.model)
    rows = []
    for name, bits in images():
        start = time.perf_counter()
        sizes = {f"{coding}_bytes": len(compress([bits], model, coding=coding)) for coding in CODINGS}
        rows.append({"image": name, "height": int(bits.shape[0]), "width": int(bits.shape[1]), **sizes,
                     "jbig1_bytes": jbig1_bytes(bits), "seconds": time.perf_counter() - start})
        print(rows[-1], flush=True)
    totals = {key: sum(row[key] for row in rows) for key in [f"{c}_bytes" for c in CODINGS] + ["jbig1_bytes"]}
    result = {"model": model.file.source, "images": rows, "totals": totals, "machine": machine()}
    print(json.dumps(totals))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
