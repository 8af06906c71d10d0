"""Issue 3's MNIST benchmark: the 10,000 static-binarised MNIST test digits as one .darn archive.

Reports total and payload bits, the quantised model's summed -ELBO of the same digits (the file
should be within 1% of it), the float model's -ELBO (the quantised one should be within 0.5%),
compress/decompress speed, and what one digit alone costs, byte by byte.

    python -m benchmarks.mnist_archive [--model NAME|PATH] [--coding static|adaptive] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from darncodec.codec import coding_model, compress, decompress, payload_bytes
from darncodec.coding import container
from darncodec.coding.network.elbo import negative_elbo_bits
from darncodec.corpora import load_binarized_mnist
from darncodec.evaluation import negative_elbo
from darncodec.model.io import build_float_model


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"


def emit(result, path: str | None) -> None:
    """Print a benchmark's result as JSON, and write it to ``path`` too where one is given."""
    text = json.dumps(result, indent=2)
    print(text)
    if path:
        Path(path).write_text(text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--limit", type=int, default=None, help="only the first N digits (quick runs)")
    parser.add_argument("--elbo-samples", type=int, default=10)
    parser.add_argument("--coding", choices=["static", "adaptive"], default="static",
                        help="static: the file should match the model's -ELBO; adaptive: page-adaptive mixing (coder 3)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    model = coding_model(args.model)
    digits = load_binarized_mnist("test")[: args.limit]
    images = list(digits.reshape(-1, 28, 28))
    names = [f"test/{i}" for i in range(len(images))]
    pixels = digits.size

    start = time.perf_counter()
    data, costs = compress(images, model, names, with_costs=True, coding=args.coding)
    compress_s = time.perf_counter() - start
    start = time.perf_counter()
    restored = decompress(data, model)
    decompress_s = time.perf_counter() - start
    exact = all(np.array_equal(a, b) for a, (_, b) in zip(images, restored))

    x = digits.astype(np.int64)
    quantised_bits = negative_elbo_bits(model.network, x, np.ones(x.shape, bool), np.random.default_rng(0),
                                        args.elbo_samples).sum()
    float_model = build_float_model(model.file.config, model.file.tensors)
    float_nats = negative_elbo(float_model, torch.tensor(digits, dtype=torch.float32), samples=args.elbo_samples,
                               generator=torch.Generator().manual_seed(0)).sum()
    float_bits = float_nats / math.log(2)
    coded_bits = sum(costs)

    one, one_costs = compress(images[:1], model, names[:1], with_costs=True, coding=args.coding)
    one_header = container.header_size(one)
    result = {
        "model": model.file.source, "model_hash": model.file.hash, "coding": args.coding, "digits": len(images),
        "pixels": int(pixels),
        "round_trip_exact": exact,
        "file_bytes": len(data), "payload_bytes": payload_bytes(data),
        "file_bpp": 8 * len(data) / pixels, "payload_bpp": 8 * payload_bytes(data) / pixels,
        "quantised_elbo_bits": float(quantised_bits), "quantised_elbo_bpp": float(quantised_bits / pixels),
        "quantised_elbo_nats_per_digit": float(quantised_bits * math.log(2) / len(images)),
        "float_elbo_bits": float(float_bits), "float_elbo_nats_per_digit": float(float_nats / len(images)),
        "payload_over_quantised_elbo": 8 * payload_bytes(data) / float(quantised_bits),
        "coded_cost_bits": coded_bits,
        "quantised_over_float_elbo": float(quantised_bits / float_bits),
        "compress_seconds": compress_s, "decompress_seconds": decompress_s,
        "compress_mpixels_per_s": pixels / compress_s / 1e6, "decompress_mpixels_per_s": pixels / decompress_s / 1e6,
        "one_digit": {"file_bytes": len(one), "payload_bytes": payload_bytes(one), "header_bytes": one_header,
                      "fixed_header_bytes": 52, "image_table_bytes": one_header - 52 - 20, "trailer_bytes": 20,
                      "coded_cost_bits": one_costs[0]},
        "machine": machine(), "elbo_samples": args.elbo_samples,
    }
    emit(result, args.json)


if __name__ == "__main__":
    main()
