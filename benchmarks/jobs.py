"""Issue 12: pages per second of `darncodec compress -j N` and `decompress -j N` (whole processes, worker
start-up included) on 16 pages rendered by the documents corpus recipe (corpora/documents.py, seed 1,
1728 x 2376 at 200 dpi), one archive of 16 segments; checks that the archive and the restored pages are
the same byte for byte for every N. The machine's load (os.getloadavg) is reported beside each run: other
processes on the cores slow the runs with more workers most. With --repeats R the job counts take turns
(N = 1, 2, 2, 1, 1, 2, ...: each round pairs a run of each, in alternating order), so that a change in
the machine's speed during the benchmark (a shared host) falls on both alike: each round's speed-up
compares runs made minutes apart, and the median over the rounds is reported beside the best rates. The CPU seconds of each command (its processes' user + system time) show
whether more workers did more work.

    python -m benchmarks.jobs [--pages 16] [--jobs 1,2] [--repeats 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.mnist_archive import emit, machine
from darncodec.corpora.documents import rendered_pages
from darncodec.imageio import write_bilevel


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system of the command and its workers) of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=16)
    parser.add_argument("--jobs", default="1,2")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds (one run per N each); the fastest rate and the median speed-up are reported")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    darncodec = [str(Path(sys.executable).parent / "darncodec")]   # the installed command
    report = {"machine": machine(), "pages": args.pages, "runs": []}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "pages").mkdir()
        for i, bits in enumerate(rendered_pages(args.pages, seed=1)):
            write_bilevel(root / "pages" / f"page{i:03d}.png", bits, "png")
        archives, restored = set(), set()
        counts = [int(jobs) for jobs in args.jobs.split(",")]
        for repeat in range(args.repeats):
            for jobs in counts if repeat % 2 == 0 else counts[::-1]:   # 1, 2, 2, 1, 1, 2, ...
                archive, out = root / f"set-{jobs}-{repeat}.darn", root / f"out-{jobs}-{repeat}"
                load = os.getloadavg()[0]
                packing, packing_cpu = timed([*darncodec, "compress", "-j", str(jobs), str(root / "pages"),
                                              "-o", str(archive)])
                unpacking, unpacking_cpu = timed([*darncodec, "decompress", "-j", str(jobs), str(archive),
                                                  "-o", str(out)])
                archives.add(archive.read_bytes())
                restored.add(tuple(path.read_bytes() for path in sorted(out.iterdir())))
                run = {"jobs": jobs, "repeat": repeat, "load_before": round(load, 2),
                       "load_after": round(os.getloadavg()[0], 2), "compress_seconds": round(packing, 2),
                       "decompress_seconds": round(unpacking, 2),
                       "compress_cpu_seconds": round(packing_cpu, 2), "decompress_cpu_seconds": round(unpacking_cpu, 2),
                       "compress_pages_per_second": round(args.pages / packing, 3),
                       "decompress_pages_per_second": round(args.pages / unpacking, 3),
                       "archive_bytes": archive.stat().st_size}
                report["runs"].append(run)
                print(json.dumps(run), flush=True)
        report["identical_archives"] = len(archives) == 1
        report["identical_pages"] = len(restored) == 1
    best = {}
    for run in report["runs"]:
        for way in ("compress", "decompress"):
            key = (way, run["jobs"])
            best[key] = max(best.get(key, 0), run[f"{way}_pages_per_second"])
    report["best_pages_per_second"] = {f"{way} -j {jobs}": rate for (way, jobs), rate in sorted(best.items())}
    report["median_speedup"] = _median_speedups(report["runs"])
    emit(report, args.json)
    if not (report["identical_archives"] and report["identical_pages"]):
        sys.exit("outputs differ between job counts")


def _median_speedups(runs: list[dict]) -> dict[str, float]:
    """For each N above the smallest, the median over the rounds of (rate at N) / (rate at the smallest N)."""
    first = min(run["jobs"] for run in runs)
    rounds: dict[str, list[float]] = {}
    for run in runs:
        base = next(r for r in runs if r["jobs"] == first and r["repeat"] == run["repeat"])
        for way in ("compress", "decompress") if run["jobs"] != first else ():
            key = f"{way} -j {run['jobs']} / -j {first}"
            rounds.setdefault(key, []).append(run[f"{way}_pages_per_second"] / base[f"{way}_pages_per_second"])
    return {key: round(statistics.median(values), 3) for key, values in rounds.items()}


if __name__ == "__main__":
    main()
