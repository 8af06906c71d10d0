"""Issue 12: how much faster two processes finish two equal jobs than one process finishes one, on
this machine, for three kinds of work: a compute-bound loop (no memory traffic), random reads and
writes over a 32 MB table (what the count tables of a page's context models are), and decoding a
page (`segments.decompress` of one segment). Each job runs alone, then two copies run at once;
``speed-up`` = 2 x alone / together (2.0: the two cores do not slow each other). Where decoding
scales like the table and not like the loop, `-j 2` is held back by the cores' shared memory
system, not by darncodec's process handling.

    python -m benchmarks.contention ARCHIVE [--repeats 3] [--json FILE]

ARCHIVE: a .darn file of one page (for example `darncodec compress page.pbm`).
"""

from __future__ import annotations

import argparse
import multiprocessing
import time

import numba
import numpy as np

from benchmarks.mnist_archive import emit, machine

TABLE_BYTES = 1 << 25


@numba.njit(cache=True)
def _loop(steps: int) -> int:
    state = 0
    for i in range(steps):
        state = (state * 1103515245 + 12345 + i) % 2147483647
    return state


@numba.njit(cache=True)
def _table(table: np.ndarray, steps: int) -> int:
    total, state, mask = 0, np.uint64(1), np.uint64(len(table) - 1)
    for _ in range(steps):
        state = state * np.uint64(6364136223846793005) + np.uint64(1442695040888963407)
        at = (state >> np.uint64(40)) & mask
        total += table[at]
        table[at] += 1
    return total


def _job(kind: str, archive: str | None) -> float:
    """Seconds of one job, after a warm-up (compiled kernels loaded, model read)."""
    if kind == "loop":
        _loop(10)
        start = time.perf_counter()
        _loop(300_000_000)
    elif kind == "table":
        table = np.zeros(TABLE_BYTES, np.uint8)
        _table(table, 10)
        start = time.perf_counter()
        _table(table, 40_000_000)
    else:
        from darncodec import segments

        data = open(archive, "rb").read()
        segments.decompress(data)
        start = time.perf_counter()
        segments.decompress(data)
    return time.perf_counter() - start


def _measure(kind: str, archive: str | None, copies: int) -> float:
    """Mean seconds of ``copies`` jobs run at once, each in its own spawned process."""
    with multiprocessing.get_context("spawn").Pool(copies) as pool:
        return float(np.mean(pool.starmap(_job, [(kind, archive)] * copies)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("archive")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the fastest is kept")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    report = {"machine": machine(), "archive": args.archive, "repeats": args.repeats, "kinds": {}}
    for kind in ("loop", "table", "decode"):
        alone = min(_measure(kind, args.archive, 1) for _ in range(args.repeats))
        together = min(_measure(kind, args.archive, 2) for _ in range(args.repeats))
        report["kinds"][kind] = {"alone_seconds": round(alone, 3), "two_at_once_seconds": round(together, 3),
                                 "speed_up": round(2 * alone / together, 2)}
        print(kind, report["kinds"][kind], flush=True)
    emit(report, args.json)


if __name__ == "__main__":
    main()
