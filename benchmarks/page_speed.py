"""Compress and decompress one page (CCITT page 1, 1728x2376, by default; or a rendered page of the
decision set, such as 300dpi-c059-12-1col, a 2480x3508 A4 page) and report megapixels per second
each way (the median of --repeats runs, and every run), the bytes, and that the round trip is exact.

In Python (the default) the kernels are loaded before the clock starts; with --process each run is
a whole `darncodec compress PAGE` and `darncodec decompress PAGE.darn` as a user runs them (Python's
start, imports, the kernels' first calls and the model included), with its CPU seconds.

    python -m benchmarks.page_speed [--model NAME|PATH] [--page PATH|NAME] [--device cpu|cuda] [--repeats N]
                                    [--process] [--json FILE]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.jobs import timed
from benchmarks.mnist_archive import emit, machine
from darncodec.codec import coding_model, compress, decompress
from darncodec.corpora import data_root
from darncodec.imageio import read_bilevel, write_bilevel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=None)
    parser.add_argument("--page", default=None, help="an image file, or the name of a rendered page of the decision "
                                                       "set (corpora/rendered.py); default: bilevel_docs/ccitt/ccitt1.pbm")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--process", action="store_true", help="time whole darncodec commands")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    page = label = args.page or str(data_root() / "bilevel_docs" / "ccitt" / "ccitt1.pbm")
    with tempfile.TemporaryDirectory() as folder:
        if not Path(page).exists():
            page = _rendered(page, Path(folder))
        (name, bits), = read_bilevel(page)
        if args.process:
            emit({**_processes(page, bits, args), "page": label}, args.json)
            return
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
    result = {"page": label, "height": bits.shape[0], "width": bits.shape[1], "model": model.file.source,
              "bytes": len(data), "round_trip_exact": bool(np.array_equal(bits, restored)),
              "compress_seconds": compress_s, "decompress_seconds": decompress_s,
              "compress_runs": compress_runs, "decompress_runs": decompress_runs,
              "compress_mpixels_per_s": bits.size / compress_s / 1e6,
              "decompress_mpixels_per_s": bits.size / decompress_s / 1e6,
              "device": args.device, "machine": machine()}
    emit(result, args.json)


def _rendered(name: str, folder: Path) -> str:
    """The decision set's rendered page ``name``, written as a PBM file in ``folder``."""
    from darncodec.corpora.rendered import DECISION_SPECS, render

    spec = next((spec for spec in DECISION_SPECS if spec.name == name), None)
    if spec is None:
        raise SystemExit(f"--page {name}: no such file, nor a rendered page of the decision set")
    path = folder / f"{name}.pbm"
    write_bilevel(str(path), render(spec))
    return str(path)


def _processes(page: str, bits: np.ndarray, args: argparse.Namespace) -> dict:
    """Whole `darncodec compress` and `decompress` processes, --repeats runs each way, taking turns."""
    command = [str(Path(sys.executable).parent / "darncodec")]   # the installed command
    model = ["-m", args.model] if args.model else []
    runs: dict[str, list[list[float]]] = {"compress": [], "decompress": []}
    with tempfile.TemporaryDirectory() as folder:
        archive, restored = Path(folder) / "page.darn", Path(folder) / "page.png"
        for _ in range(args.repeats):
            runs["compress"].append(list(timed([*command, "compress", page, *model, "--device", args.device,
                                                "-o", str(archive), "-f"])))
            runs["decompress"].append(list(timed([*command, "decompress", str(archive), *model, "--device",
                                                  args.device, "-o", str(restored), "-f"])))
        (_, back), = read_bilevel(str(restored))
        size = archive.stat().st_size
    result = {"page": page, "height": bits.shape[0], "width": bits.shape[1], "model": args.model or "default",
              "bytes": size, "round_trip_exact": bool(np.array_equal(bits, back)), "device": args.device,
              "machine": machine()}
    for way, timings in runs.items():
        result[f"{way}_seconds"] = float(np.median([wall for wall, _ in timings]))
        result[f"{way}_runs"] = [wall for wall, _ in timings]
        result[f"{way}_cpu_seconds"] = [cpu for _, cpu in timings]
    return result


if __name__ == "__main__":
    main()
