"""Compress and decompress one 1728x2376 fax page (CCITT page 1 by default) and report megapixels per
second each way (the median of --repeats runs, and every run), the bytes, and that the round trip
is exact.

    python -m benchmarks.page_speed [--model NAME|PATH] [--page PATH] [--device cpu|cuda] [--repeats N]
                                    [--json FILE]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.mnist_archive import emit, machine
from darncodec.codec import coding_model, compress, decompress
from darncodec.corpora import data_root
from darncodec.imageio import read_bilevel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--page", default=None, help="default: bilevel_docs/ccitt/ccitt1.pbm")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    page = args.page or str(data_root() / "bilevel_docs" / "ccitt" / "ccitt1.pbm")
    (name, bits), = read_bilevel(page)
    model = coding_model(args.model, args.device)
    warm = bits[:256, :512]    # load (or compile) the kernels of both codings once: a one-time cost
    decompress(compress([warm], model, coding="static"), model)
    if model.can_adapt:
        decompress(compress([warm], model, coding="adaptive"), model)
    compress_runs, decompress_runs = [], []
    for _ in range(args.repeats):    # this machine's speed varies from run to run: report the median
        start = time.perf_counter()
        data = compress([bits], model, [name], args.device)
        compress_runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        (_, restored), = decompress(data, model, args.device)
        decompress_runs.append(time.perf_counter() - start)
    compress_s, decompress_s = float(np.median(compress_runs)), float(np.median(decompress_runs))
    result = {"page": page, "height": bits.shape[0], "width": bits.shape[1], "model": model.file.source,
              "bytes": len(data), "round_trip_exact": bool(np.array_equal(bits, restored)),
              "compress_seconds": compress_s, "decompress_seconds": decompress_s,
              "compress_runs": compress_runs, "decompress_runs": decompress_runs,
              "compress_mpixels_per_s": bits.size / compress_s / 1e6,
              "decompress_mpixels_per_s": bits.size / decompress_s / 1e6,
              "device": args.device, "machine": machine()}
    emit(result, args.json)


if __name__ == "__main__":
    main()
