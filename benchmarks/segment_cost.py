"""Issue 12: what independent segments (format version 2) cost in bytes against one chained archive
(format version 1), on the 8 CCITT pages (default model) and the 10,000 MNIST test digits (mnist model).

For the pages it also codes version 2 without lead-in images (docs/format.md, "Version 2"), and for
the digits it tries several segment budgets (darncodec.segments.SEGMENT_PIXELS); every archive is
decoded and checked.

    python -m benchmarks.segment_cost [--corpus ccitt|mnist|both] [--budgets 1048576,2097152,...] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from unittest import mock

import numpy as np

from benchmarks.mnist_archive import emit, machine
from darncodec import codec, segments
from darncodec.corpora import load_binarized_mnist
from darncodec.corpora.paths import data_root
from darncodec.imageio import load_inputs


def _check(data: bytes, images: list[np.ndarray], model) -> None:
    restored = segments.decompress(data, model)
    assert not restored.lost and all(np.array_equal(a, b) for (_, _, a), b in zip(restored.images, images))


def measure(images: list[np.ndarray], names: list[str], model, variants: dict) -> dict:
    """Bytes of version 1 (one chain) and of each version-2 variant (name -> patches of segments)."""
    start = time.perf_counter()
    chained = codec.compress(images, model, names)
    rows = {"version 1, one chain": {"bytes": len(chained), "segments": 1,
                                     "seconds": round(time.perf_counter() - start, 1)}}
    _check(chained, images, model)
    for label, patches in variants.items():
        with contextlib.ExitStack() as patched:
            for name, value in patches.items():
                patched.enter_context(mock.patch.object(segments, name, value))
            start = time.perf_counter()
            data = segments.compress(images, model, names)
            seconds = time.perf_counter() - start
            count = len(segments.segments(data))
        _check(data, images, model)
        rows[label] = {"bytes": len(data), "segments": count, "seconds": round(seconds, 1),
                       "cost_bytes": len(data) - len(chained),
                       "cost_percent": round(100 * (len(data) - len(chained)) / len(chained), 3)}
        print(label, rows[label], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", choices=["ccitt", "mnist", "both"], default="both")
    parser.add_argument("--budgets", default="1048576,2097152,4194304,8388608",
                        help="segment pixel budgets tried on the digits")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    report = {"machine": machine()}
    if args.corpus in ("ccitt", "both"):
        pages = load_inputs([str(data_root() / "bilevel_docs" / "ccitt" / f"ccitt{i}.pbm") for i in range(1, 9)])
        model = codec.coding_model(None)
        report["ccitt"] = measure([bits for _, bits in pages], [f"ccitt{i}.pbm" for i in range(1, 9)], model, {
            "version 2": {},
            "version 2, no lead-in": {"wants_lead_in": lambda *_: False}})
    if args.corpus in ("mnist", "both"):
        digits = list(load_binarized_mnist("test").reshape(-1, 28, 28))
        names = [f"binarized_mnist.npz:test/{i}" for i in range(len(digits))]
        model = codec.coding_model("mnist")
        report["mnist"] = measure(digits, names, model, {
            f"version 2, segments of up to {budget} pixels": {"SEGMENT_PIXELS": budget}
            for budget in map(int, args.budgets.split(","))})
    emit(report, args.json)


if __name__ == "__main__":
    main()
