"""Issue 5's check: every image under ../shared/data/bilevel_docs round-trips bit-exactly with the
default model. Each file (all pages of a multi-page TIFF) is one archive; files that are not bilevel
images are listed with the one-line reason the codec gives for refusing them.

    python -m benchmarks.docs_round_trip [--model NAME|PATH] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

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
        try:
            images = read_bilevel(path)
        except InputError as error:
            refused[str(path.relative_to(root))] = str(error)
            continue
        data = compress([bits for _, bits in images], model, [name for name, _ in images])
        restored = decompress(data, model)
        exact = len(restored) == len(images) and all(
            np.array_equal(a, b) for (_, a), (_, b) in zip(images, restored))
        pixels = sum(bits.size for _, bits in images)
        rows.append({"file": str(path.relative_to(root)), "images": len(images), "pixels": pixels,
                     "bytes": len(data), "bits_per_pixel": 8 * len(data) / pixels, "exact": exact})
        print(f"{rows[-1]['file']}: {len(images)} image(s), {len(data):,} bytes, exact {exact}", flush=True)
    result = {"model": model.file.source.split("/")[-1], "model_hash": model.file.hash,
              "files": rows, "bilevel_images": sum(r["images"] for r in rows),
              "exact": sum(r["images"] for r in rows if r["exact"]),
              "refused": sorted(refused), "refused_reasons": refused,
              "seconds": time.perf_counter() - start, "machine": machine()}
    print(json.dumps({k: v for k, v in result.items() if k != "files"}, indent=2))
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(json.dumps(result, indent=2) + "\n")
    if result["exact"] != result["bilevel_images"]:
        raise SystemExit("some images did not round-trip exactly")


if __name__ == "__main__":
    main()
