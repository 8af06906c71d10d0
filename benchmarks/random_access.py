"""Issue 12: restoring one page from the middle of a large archive against restoring all of it.

Renders ``--pages`` pages with the documents corpus recipe (corpora/documents.py, seed 2), optionally
cut to their top-left ``--crop HxW`` pixels (smaller pages, for a machine where compressing 500 full
pages takes too long), compresses them into one archive (`darncodec compress -j JOBS`, one segment
per page), then times, as whole processes, `darncodec decompress --pages MIDDLE` and `darncodec
decompress` of everything (with each `-j N` of ``--restore-jobs``, by default 1 and JOBS), checking every
page.

    python -m benchmarks.random_access [--pages 500] [--crop 512x512] [--jobs 2] [--restore-jobs 1,2] [--json FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.mnist_archive import emit, machine
from darncodec.corpora.documents import rendered_pages
from darncodec.imageio import read_bilevel, write_bilevel


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return round(time.perf_counter() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--crop", default=None, help="HxW: keep only the top-left HxW pixels of each page")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--restore-jobs", default=None, help="N,...: restore everything with each -j N (default 1,JOBS)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    restore_jobs = [int(n) for n in (args.restore_jobs or f"1,{args.jobs}").split(",")]
    darncodec = [str(Path(sys.executable).parent / "darncodec")]   # the installed command
    crop = tuple(int(v) for v in args.crop.split("x")) if args.crop else None
    middle = args.pages // 2 + 1
    report = {"machine": machine(), "pages": args.pages, "crop": args.crop, "middle_page": middle,
              "load_at_start": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "pages").mkdir()
        pages = []
        for i, bits in enumerate(rendered_pages(args.pages, seed=2)):
            bits = bits[:crop[0], :crop[1]] if crop else bits
            pages.append(bits)
            write_bilevel(root / "pages" / f"page{i:04d}.png", bits, "png")
        report["pixels_per_page"] = int(pages[0].size)
        archive = root / "book.darn"
        report["compress_seconds"] = timed([*darncodec, "compress", "-j", str(args.jobs), str(root / "pages"),
                                            "-o", str(archive)])
        report["archive_bytes"] = archive.stat().st_size
        one = root / "one.png"
        report["one_page_seconds"] = timed([*darncodec, "decompress", "-j", "1", "--pages", str(middle),
                                            str(archive), "-o", str(one)])
        assert np.array_equal(read_bilevel(one)[0][1], pages[middle - 1])
        for jobs in dict.fromkeys(restore_jobs):
            out = root / f"all-{jobs}"
            report[f"all_pages_seconds_j{jobs}"] = timed([*darncodec, "decompress", "-j", str(jobs),
                                                          str(archive), "-o", str(out)])
            restored = sorted(out.iterdir())
            assert len(restored) == args.pages
            assert all(np.array_equal(read_bilevel(path)[0][1], bits) for path, bits in zip(restored, pages))
        report["load_at_end"] = round(os.getloadavg()[0], 2)
    for jobs in dict.fromkeys(restore_jobs):
        report[f"all_over_one_j{jobs}"] = round(report[f"all_pages_seconds_j{jobs}"] / report["one_page_seconds"], 1)
    emit(report, args.json)


if __name__ == "__main__":
    main()
