"""Issue 14's benchmark: Monte Carlo bits-back (coder 5) on the static-binarised MNIST test digits.

For each particle count S: the digits as one archive (S = 1 is coder 1, static coding), its bytes and
bits/pixel, the coded cost in nats per digit (what the tiles were charged: about the S-sample
importance-weighted bound), compress and decompress seconds, an exact round trip; beside them the
quantised model's -ELBO of the same digits. The initial bits: how many tiles were coded with fewer
than S particles (the coder held too few bits for S), the payload less the coded costs (the first
tile's missing bits back, pops beyond what the coder held, the count symbols, ANS overhead), and one
digit alone.

    python -m benchmarks.particles [--model mnist] [--limit N] [--particles 1 4 16 64] [--json FILE]
"""

from __future__ import annotations

import argparse
import collections
import json
import math
import os
import platform
import time

import numpy as np

from benchmarks.mnist_archive import emit
from darncodec import codec
from darncodec.coding import particles
from darncodec.coding.network.elbo import negative_elbo_bits
from darncodec.corpora import load_binarized_mnist


def machine() -> str:
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, OPENBLAS_NUM_THREADS={threads}, "
            f"load average {os.getloadavg()[0]:.1f} at the end")


def counted(run):
    """Run ``run()`` and count the tiles coded with each particle count (coding.particles)."""
    counts: collections.Counter = collections.Counter()
    original = particles.ParticleCodec.push

    def push(self, coder, x, mask, count):
        counts[count] += len(x)
        return original(self, coder, x, mask, count)

    particles.ParticleCodec.push = push
    try:
        return run(), counts
    finally:
        particles.ParticleCodec.push = original


def code(images, model, count: int) -> dict:
    coding = "particles" if count > 1 else "static"
    start = time.perf_counter()
    (data, costs), counts = counted(lambda: codec.compress(images, model, with_costs=True, coding=coding,
                                                           particles=count if count > 1 else None))
    compress_s = time.perf_counter() - start
    start = time.perf_counter()
    restored = codec.decompress(data, model)
    decompress_s = time.perf_counter() - start
    pixels = sum(image.size for image in images)
    cumulative = np.cumsum(costs)
    return {
        "particles": count, "coder": codec.read_header(data).coder,
        "file_bytes": len(data), "payload_bytes": codec.payload_bytes(data), "file_bpp": 8 * len(data) / pixels,
        "coded_nats_per_digit": float(cumulative[-1] * math.log(2) / len(images)),
        "payload_less_coded_bits": 8 * codec.payload_bytes(data) - float(cumulative[-1]),
        "first_digits_coded_bits": {k: float(cumulative[k - 1]) for k in (1, 10, 100, 1000) if k <= len(images)},
        "tiles_by_particle_count": {str(k): v for k, v in sorted(counts.items())} if count > 1 else None,
        "compress_seconds": compress_s, "decompress_seconds": decompress_s,
        "round_trip_exact": all(np.array_equal(a, b) for a, (_, b) in zip(images, restored, strict=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="mnist")
    parser.add_argument("--limit", type=int, default=None, help="only the first N test digits")
    parser.add_argument("--particles", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--elbo-samples", type=int, default=10)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    model = codec.coding_model(args.model)
    digits = load_binarized_mnist("test")[: args.limit]
    images = list(digits.reshape(-1, 28, 28))
    x = digits.reshape(len(digits), -1).astype(np.int64)
    elbo_bits = negative_elbo_bits(model.network, x, np.ones(x.shape, bool), np.random.default_rng(0),
                                   args.elbo_samples).sum()
    rows = []
    for count in args.particles:
        rows.append(code(images, model, count))
        print(json.dumps(rows[-1]), flush=True)
    one = {count: len(codec.compress(images[:1], model, coding="particles" if count > 1 else "static",
                                     particles=count if count > 1 else None)) for count in args.particles}
    result = {"model": model.file.source, "digits": len(images), "pixels": int(digits.size),
              "quantised_elbo_nats_per_digit": float(elbo_bits * math.log(2) / len(images)),
              "quantised_elbo_bpp": float(elbo_bits / digits.size), "elbo_samples": args.elbo_samples,
              "runs": rows, "one_digit_file_bytes": one, "machine": machine()}
    emit(result, args.json)


if __name__ == "__main__":
    main()
