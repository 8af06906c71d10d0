"""Issue 14, the encoder's particle counts: bytes of the first N validation digits (the decision set:
never the test digits) coded with S particles for each margin m (a batch pops n particles only where
the coder holds m times their bits: darncodec.coding.particles.PARTICLE_MARGIN). The margin is the
encoder's choice alone (the decoder reads the counts), so any m decodes with the same decoder.

    python -m benchmarks.particle_margin [--model mnist] [--digits 1000] [--particles 256]
                                         [--margins 2,1.5,1.25,1] [--json FILE]
"""

from __future__ import annotations

import argparse
import time

from benchmarks.mnist_archive import emit, machine
from darncodec import codec
from darncodec.coding import particles
from darncodec.corpora import load_binarized_mnist


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="mnist")
    parser.add_argument("--digits", type=int, default=1000)
    parser.add_argument("--particles", type=int, default=256)
    parser.add_argument("--margins", default="2,1.5,1.25,1")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    model = codec.coding_model(args.model)
    images = list(load_binarized_mnist("valid")[: args.digits].reshape(-1, 28, 28))
    runs, default = [], particles.PARTICLE_MARGIN
    try:
        for margin in (float(m) for m in args.margins.split(",")):
            particles.PARTICLE_MARGIN = margin
            start = time.perf_counter()
            data = codec.compress(images, model, coding="particles", particles=args.particles)
            runs.append({"margin": margin, "bytes": len(data), "compress_seconds": time.perf_counter() - start})
            print(runs[-1], flush=True)
    finally:
        particles.PARTICLE_MARGIN = default
    emit({"model": model.file.source, "digits": len(images), "particles": args.particles, "runs": runs,
          "machine": machine()}, args.json)


if __name__ == "__main__":
    main()
