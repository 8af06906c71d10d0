"""The stroke models (coder 7) against coder 3, image by image.

Each image is compressed alone (one archive per image, as `darncodec compress page.pbm` writes in
Python: format version 1) as coder 3 (`--coding adaptive`) and as coder 7 (`--coding strokes`);
coder 7's archive is decoded and compared with the image. Reports bytes, the ratio and coder 7's
compress and decompress seconds.

With ``--cli`` it measures what a user gets instead: each image written as a PBM file and coded by
one ``darncodec compress PAGE.pbm`` (the default coding, format version 2) and restored by one
``darncodec decompress``, whole processes with their wall seconds, the restored image compared;
``coder3`` is then ``darncodec compress --coding adaptive``.

With ``--ideal`` it measures instead what the design was compared by: each image coded as one batch
without the DARN (the mix at once in the count pass), the ideal code length in bytes of coder 3
and of coder 7, no archive written; much faster than coding.

Sets: ``scans`` (the non-test scans of bilevel_docs the design was chosen on:
darncodec.corpora.decision.decision_scans), ``rendered`` (the rendered text pages of the decision
set) and ``ccitt`` (CCITT pages 1-8: test pages, reported only). ``--only`` keeps the images whose
name contains one of the given strings.

    python -m benchmarks.strokes --set scans|rendered|ccitt [--only NAME ...] [--ideal|--cli] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.jobs import timed
from benchmarks.mnist_archive import machine
from benchmarks.symbols import ccitt_pages
from darncodec import codec
from darncodec.coding.container import CODER_RASTER, CODER_STROKES
from darncodec.coding.tiling import to_tiles
from darncodec.imageio import read_bilevel, write_bilevel


def images(which: str) -> list[tuple[str, np.ndarray]]:
    if which == "ccitt":
        return ccitt_pages()
    from darncodec.corpora import decision, rendered
    return decision.decision_scans() if which == "scans" else list(rendered.decision_pages())


def measure(name: str, bits: np.ndarray, model: codec.CodingModel) -> dict:
    raster = len(codec.compress([bits], model, [name], coding="adaptive"))
    start = time.perf_counter()
    archive = codec.compress([bits], model, [name], coding="strokes")
    compress_s = time.perf_counter() - start
    start = time.perf_counter()
    (_, back), = codec.decompress(archive, model)
    decompress_s = time.perf_counter() - start
    if not np.array_equal(back, bits):
        raise SystemExit(f"{name}: coder 7 did not restore the image")
    return {"name": name, "pixels": int(bits.size), "coder3": raster, "coder7": len(archive),
            "ratio": round(len(archive) / raster, 4), "compress_s": round(compress_s, 2),
            "decompress_s": round(decompress_s, 2)}


def ideal(name: str, bits: np.ndarray, model: codec.CodingModel) -> dict:
    """Coder 3's and coder 7's ideal bytes for the image as one batch mixed in its count pass."""
    tiles, masks = to_tiles(bits, *model.tile, np.uint8)
    found = {}
    for label, coder in (("coder3", CODER_RASTER), ("coder7", CODER_STROKES)):
        contexts = model.adaptive_contexts(coder)
        contexts.enter_group(0, [bits.shape], 0)
        batch = contexts.batch(0, masks)
        batch.count_pass(tiles, mixed=True)
        found[label] = round(float(batch.tile_bits.sum()) / 8)
    return {"name": name, "pixels": int(bits.size), **found, "ratio": round(found["coder7"] / found["coder3"], 4)}


def whole_processes(name: str, bits: np.ndarray, model: str) -> dict:
    """One darncodec compress (coder 3, then the default) and one decompress of the image as a PBM file."""
    darncodec = str(Path(sys.executable).parent / "darncodec")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / f"{Path(name).stem}.pbm"   # the name a user's file has (it is stored)
        write_bilevel(page, bits, "pbm")
        timed([darncodec, "compress", "-q", "-m", model, "--coding", "adaptive", "-o", f"{folder}/c3.darn", str(page)])
        compress_s, _ = timed([darncodec, "compress", "-q", "-m", model, str(page)])
        decompress_s, _ = timed([darncodec, "decompress", "-q", "-m", model, "-o", f"{folder}/back.pbm",
                                 str(page.with_suffix(".darn"))])
        if not np.array_equal(read_bilevel(f"{folder}/back.pbm")[0][1], bits):
            raise SystemExit(f"{name}: darncodec decompress did not restore the image")
        raster, default = (Path(folder) / "c3.darn").stat().st_size, page.with_suffix(".darn").stat().st_size
    return {"name": name, "pixels": int(bits.size), "coder3": raster, "coder7": default,
            "ratio": round(default / raster, 4), "compress_s": round(compress_s, 2), "decompress_s": round(decompress_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=["scans", "rendered", "ccitt"], default="scans")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--model", default="docs")
    parser.add_argument("--ideal", action="store_true", help="one batch without the DARN, ideal bytes, no archive")
    parser.add_argument("--cli", action="store_true", help="whole darncodec commands, one file per image")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    model = codec.coding_model(args.model)
    rows = []
    for name, bits in images(args.set):
        if args.only and not any(part in name for part in args.only):
            continue
        if args.cli:
            rows.append(whole_processes(name, bits, args.model))
        else:
            rows.append((ideal if args.ideal else measure)(name, bits, model))
        r = rows[-1]
        seconds = "" if args.ideal else f"  {r['compress_s']:.1f} s / {r['decompress_s']:.1f} s"
        print(f"{name:40s} coder 3 {r['coder3']:9,d}  coder 7 {r['coder7']:9,d}  {r['ratio']:.3f}{seconds}", flush=True)
    total3, total7 = sum(r["coder3"] for r in rows), sum(r["coder7"] for r in rows)
    smaller = sum(r["coder7"] < r["coder3"] for r in rows)
    print(f"{len(rows)} images: coder 3 {total3:,d} bytes, coder 7 {total7:,d} ({total7 / total3:.4f}); "
          f"coder 7 smaller on {smaller}")
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"set": args.set, "model": args.model, "ideal": args.ideal, "cli": args.cli, "machine": machine(),
                       "images": rows,
                       "coder3": total3, "coder7": total7}, out, indent=1)


if __name__ == "__main__":
    main()
