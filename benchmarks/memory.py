"""Peak memory of `darncodec compress` and `decompress` on whole pages, each run in its own process
(its ru_maxrss: benchmarks.hostile.run), in bytes per pixel above a 64 x 64 page's peak (the
interpreter, the libraries and the model).

    python -m benchmarks.memory [--dpi 300 600] [--side N ...] [--model NAME] [--json FILE]

The pages are rendered text from the documents corpus recipe (corpora/documents.py, one 200-dpi
fax-size page, seed 0), scaled by nearest neighbour to 1728 x 2376 times dpi / 200 (600 dpi:
5184 x 7128, a little more than A4's 4960 x 7016); memory depends on the page's size far more than
on its content. ``--side N`` adds an N x N page: the 600-dpi page repeated across and down (the
limits on pixels raised to let it in).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.hostile import run
from darncodec.imageio import write_bilevel


def page(dpi: int) -> np.ndarray:
    from darncodec.corpora.documents import rendered_pages

    bits = next(rendered_pages(1, seed=0))
    if dpi == 200:
        return bits
    height, width = bits.shape
    scaled = Image.fromarray(bits.astype(bool)).resize((width * dpi // 200, height * dpi // 200), Image.NEAREST)
    return np.asarray(scaled, dtype=np.uint8)


def square(side: int) -> np.ndarray:
    """An N x N page of the 600-dpi page repeated."""
    bits = page(600)
    return np.tile(bits, (-(-side // bits.shape[0]), -(-side // bits.shape[1])))[:side, :side].copy()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dpi", type=int, nargs="*", default=[300, 600])
    parser.add_argument("--side", type=int, nargs="*", default=[])
    parser.add_argument("--model", default="docs")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = {0: np.zeros((64, 64), np.uint8), **{dpi: page(dpi) for dpi in args.dpi},
                 **{f"{side}x{side}": square(side) for side in args.side}}
        base = {}
        for dpi, bits in sizes.items():
            png, archive = folder / f"p{dpi}.png", folder / f"p{dpi}.darn"
            write_bilevel(png, bits)
            raised = [f"--max-pixels={bits.size}", f"--max-archive-pixels={2 * bits.size}"]
            for op, command in (("compress", ["compress", *raised, "-m", args.model, "-o", archive, png]),
                                ("decompress", ["decompress", *raised, "-m", args.model, "-o",
                                                folder / f"r{dpi}.png", archive])):
                result = run(command)
                if result["status"]:
                    raise SystemExit(f"{op} {dpi} dpi failed: {result['stderr']}")
                if dpi == 0:
                    base[op] = result["peak_mb"]
                    continue
                row = {"dpi": dpi, "op": op, "height": bits.shape[0], "width": bits.shape[1],
                       "pixels": int(bits.size), "peak_mb": result["peak_mb"], "base_mb": base[op],
                       "bytes_per_pixel": round((result["peak_mb"] - base[op]) * 2**20 / bits.size, 1),
                       "seconds": result["seconds"], "archive_bytes": archive.stat().st_size}
                rows.append(row)
                print(f"{dpi} {'dpi ' if isinstance(dpi, int) else ''}{bits.shape[1]}x{bits.shape[0]} {op}: peak {row['peak_mb']} MB "
                      f"(base {base[op]} MB), {row['bytes_per_pixel']} bytes/pixel, {row['seconds']} s", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"load": os.getloadavg(), "model": args.model, "runs": rows},
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()
