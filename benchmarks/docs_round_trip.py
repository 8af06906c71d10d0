"""Issue 5's check: every image under ../shared/data/bilevel_docs round-trips bit-exactly with the
default model. Each file (all pages of a multi-page TIFF) is one archive. Files the codec refuses are
listed with its one-line reason and then taken the way a user would: JBIG files (.jbg, which Pillow
cannot read) through JBIG-KIT's jbgtopbm when it is installed, grey or colour images with
``--threshold 0.5``; those round trips are counted separately.

    python -m benchmarks.docs_round_trip [--model NAME|PATH] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.mnist_archive import machine
from darncodec.codec import coding_model, compress, decompress
from darncodec.corpora import data_root
from darncodec.errors import InputError
from darncodec.imageio import read_bilevel

NOT_IMAGES = {".tsv", ".md", ".txt"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    model = coding_model(args.model)
    root = data_root() / "bilevel_docs"
    rows, refused = [], {}
    start = time.perf_counter()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() not in NOT_IMAGES):
        how = "as is"
        try:
            images = read_bilevel(path)
        except InputError as error:
            refused[str(path.relative_to(root))] = str(error)
            images, how = taken_otherwise(path)
            if images is None:
                continue
        data = compress([bits for _, bits in images], model, [name for name, _ in images])
        restored = decompress(data, model)
        exact = len(restored) == len(images) and all(
            np.array_equal(a, b) for (_, a), (_, b) in zip(images, restored))
        pixels = sum(bits.size for _, bits in images)
        rows.append({"file": str(path.relative_to(root)), "read": how, "images": len(images), "pixels": pixels,
                     "bytes": len(data), "bits_per_pixel": 8 * len(data) / pixels, "exact": exact})
        print(f"{rows[-1]['file']} ({how}): {len(images)} image(s), {len(data):,} bytes, exact {exact}", flush=True)
    direct = [r for r in rows if r["read"] == "as is"]
    result = {"model": model.file.source.split("/")[-1], "model_hash": model.file.hash,
              "files": rows, "bilevel_images": sum(r["images"] for r in direct),
              "exact": sum(r["images"] for r in direct if r["exact"]),
              "other_images": sum(r["images"] for r in rows if r["read"] != "as is"),
              "other_exact": sum(r["images"] for r in rows if r["read"] != "as is" and r["exact"]),
              "refused": sorted(refused), "refused_reasons": refused,
              "seconds": time.perf_counter() - start, "machine": machine()}
    print(json.dumps({k: v for k, v in result.items() if k != "files"}, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(json.dumps(result, indent=2) + "\n")
    if result["exact"] != result["bilevel_images"] or result["other_exact"] != result["other_images"]:
        raise SystemExit("some images did not round-trip exactly")


def taken_otherwise(path: Path):
    """(images, how) for a refused file, or (None, reason) where there is no other way to read it."""
    if path.suffix.lower() == ".jbg":
        tool = shutil.which("jbgtopbm")
        if tool is None:
            return None, "jbgtopbm not installed"
        with tempfile.TemporaryDirectory() as folder:
            pbm = Path(folder) / (path.stem + ".pbm")
            subprocess.run([tool, str(path), str(pbm)], check=True)
            return read_bilevel(pbm), "through jbgtopbm"
    try:
        return read_bilevel(path, threshold=0.5), "--threshold 0.5"
    except InputError:
        return None, "unreadable"


if __name__ == "__main__":
    main()
