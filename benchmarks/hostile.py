"""Replay the hostile inputs of issue 13 against the command line, each in its own process, and print
its exit status, first line of stderr, peak memory (its ru_maxrss, read by a small wrapper: run) and
time.

    python -m benchmarks.hostile [--json FILE] [--only NAME ...]

The crafted files (made here, in a temporary folder) claim far more than they hold: archive headers
claiming huge images or image counts, an image table that inflates to a gigabyte, PNG bombs, a PNG
whose data ends early, model files with a missing, misshapen or non-finite tensor; and 256 x 256
noise, which the model cannot compress (stored as raw bits, coder 6).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from darncodec.coding import container
from darncodec.imageio import write_bilevel
from darncodec.zoo import load_model_file

CLI = [sys.executable, "-c", "from darncodec.cli.main import main; main()"]


def archive(table: bytes, words: bytes, model_hash: str, tile: tuple[int, int], pixel_crc: int = 0) -> bytes:
    """A .darn with a raw ``table`` (storage byte included), payload ``words`` and valid checksums."""
    head = struct.pack("<4sBBBB32sHHII", b"DARN", 1, container.CODER_STATIC, 24, 0x05, bytes.fromhex(model_hash),
                       *tile, 2048, len(table)) + table
    head += struct.pack("<QII", len(words) // 4, zlib.crc32(words), pixel_crc)
    return head + struct.pack("<I", zlib.crc32(head)) + words


def one_image(height: int, width: int) -> bytes:
    v = container.varint
    return b"\0" + v(1) + v(0) + v(1) + b"x" + v(height) + v(width)


def png(width: int, height: int, rows: int) -> bytes:
    """A 1-bit PNG claiming ``width`` x ``height`` whose data holds ``rows`` white rows (streamed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    deflate, row = zlib.compressobj(9), b"\0" + b"\xff" * -(-width // 8)
    data = b"".join(deflate.compress(row * min(1000, rows - at)) for at in range(0, rows, 1000)) + deflate.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def table_bomb(inflated: int) -> bytes:
    """An image table (zlib) of one image, then ``inflated`` bytes of zeros."""
    deflate, block = zlib.compressobj(9), bytes(1 << 24)
    parts = [deflate.compress(one_image(1, 1)[1:])]
    parts += [deflate.compress(block) for _ in range(inflated >> 24)]
    return b"\1" + b"".join(parts) + deflate.flush()


def crafted_model(folder: Path, name: str, change) -> Path:
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    source = load_model_file("docs").source
    with safe_open(source, framework="numpy") as handle:
        meta = dict(handle.metadata())
    tensors = load_file(source)
    change(tensors, meta)
    path = folder / f"{name}.safetensors"
    save_file(tensors, str(path), metadata=meta)
    return path


def cases(folder: Path) -> dict[str, list[str]]:
    """name -> command line arguments (after ``darncodec``), the files made in ``folder``."""
    model = load_model_file("docs")
    tile = (model.config.height, model.config.width)
    out: dict[str, list[str]] = {}

    def file(name: str, data: bytes) -> Path:
        (folder / name).write_bytes(data)
        return folder / name

    for side in (100_000, 46_341, 20_000):
        path = file(f"claim-{side}.darn", archive(one_image(side, side), b"", model.hash, tile, 1))
        out[f"header {side}x{side}, empty payload ({path.stat().st_size} B)"] = ["decompress", path]
    random_words = np.random.default_rng(1).integers(1, 2**32, 1024, dtype=np.uint64).astype("<u4").tobytes()
    path = file("claim-46341-payload.darn", archive(one_image(46_341, 46_341), random_words, model.hash, tile, 1))
    out[f"header 46341x46341, 4 KB random payload ({path.stat().st_size} B)"] = ["decompress", path]
    path = folder / "claim-20000.darn"
    out["header 20000x20000, empty payload, limits raised (early stop)"] = [
        "decompress", "--max-pixels", "400000000", "--max-archive-pixels", "500000000", path]
    path = file("claim-8000-payload.darn", archive(one_image(8000, 8000), random_words, model.hash, tile, 1))
    out["header 8000x8000, 4 KB random payload (within the limits)"] = ["decompress", path]
    for count in (10**6, 10**7):
        path = file(f"count-{count}.darn", archive(b"\0" + container.varint(count) + bytes(64), b"", model.hash, tile))
        out[f"image table claiming {count} images ({path.stat().st_size} B)"] = ["decompress", path]
    entries = b"".join(b"\0\0\1\1" for _ in range(10**6))
    path = file("million-1x1.darn", archive(b"\1" + zlib.compress(container.varint(10**6) + entries, 9),
                                           b"", model.hash, tile))
    out[f"image table of 10^6 images of 1x1 ({path.stat().st_size} B)"] = ["decompress", path]
    path = file("table-bomb.darn", archive(table_bomb(1 << 30), b"", model.hash, tile))
    out[f"image table inflating to 1 GiB ({path.stat().st_size} B)"] = ["decompress", path]
    for width, height, rows in ((50_000, 50_000, 50_000), (46_000, 46_000, 0), (12_000, 12_000, 0)):
        path = file(f"bomb-{width}.png", png(width, height, rows))
        out[f"PNG {width}x{height} ({path.stat().st_size} B)"] = ["compress", "-c", path]
    path = file("truncated.png", png(1275, 1650, 10))
    out[f"PNG 1275x1650 with 10 rows of data ({path.stat().st_size} B)"] = ["compress", "-c", path]
    page = folder / "page.png"
    write_bilevel(page, np.zeros((64, 64), np.uint8))

    def drop(t, m):
        del t["float.top_bias"]

    def misshape(t, m):
        t["float.top_bias"] = np.zeros(3, np.float32)

    def retile(t, m):
        m["config"] = m["config"].replace('"height": 64', '"height": 32')

    def short_table(t, m):
        t["coding.prob_table"] = t["coding.prob_table"][:100]

    def nan(t, m):
        t["float.decoder.0.outer.weight"][0, 0] = np.nan

    def huge(t, m):
        t["float.decoder.0.outer.weight"][0, 0] = 1e30

    for name, change in (("missing tensor", drop), ("wrong shape", misshape), ("tile 32x64 for 64x64 weights", retile),
                         ("short probability table", short_table), ("NaN weight", nan), ("1e30 weight", huge)):
        path = crafted_model(folder, name.split()[0], change)
        out[f"model: {name}"] = ["compress", "-c", "-m", path, page]
    noise = folder / "noise.png"
    write_bilevel(noise, np.random.default_rng(0).integers(0, 2, (256, 256), dtype=np.uint8))
    out["noise 256x256 (8,192 raw bytes): compress"] = ["compress", "-o", folder / "noise.darn", noise]
    out["noise 256x256: compress --adaptive (coded as asked)"] = ["compress", "--adaptive", "-o",
                                                                   folder / "noise-adaptive.darn", noise]
    return out


# The command runs under a small Python that waits for it and writes its exit status and peak memory
# to a file. Measured straight from this process, the peak would include this process's own: a
# child made by fork or vfork keeps its parent's high-water mark of resident memory through exec,
# and this process holds the pages it wrote.
_MEASURED = ("import resource, subprocess, sys\n"
             "status = subprocess.run(sys.argv[2:]).returncode\n"
             "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
             "open(sys.argv[1], 'w').write(f'{status} {peak}')\n")


def run(args: list) -> dict:
    """Run darncodec with ``args``: exit status, seconds, its peak resident memory, stderr's first line."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r", suffix=".rss") as report:
        subprocess.run([sys.executable, "-c", _MEASURED, report.name, *CLI, *map(str, args)],
                       stdout=subprocess.DEVNULL, stderr=err, check=True)
        seconds = time.perf_counter() - start
        status, peak_kb = map(int, Path(report.name).read_text().split())
        err.seek(0)
        message = err.read().decode(errors="replace").strip().splitlines()
    return {"status": status, "seconds": round(seconds, 2), "peak_mb": round(peak_kb / 1024, 1),
            "stderr": message[0] if message else "", "stderr_lines": len(message)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", default=None)
    parser.add_argument("--only", nargs="*", default=None, help="cases whose name contains one of these")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, command in cases(folder).items():
            if args.only and not any(part in name for part in args.only):
                continue
            result = {"case": name, "command": " ".join(["darncodec", *(Path(str(a)).name if os.sep in str(a)
                                                                         else str(a) for a in command)]),
                      **run(command)}
            result["stderr"] = result["stderr"].replace(f"{folder}{os.sep}", "")
            if "-o" in command and result["status"] == 0:
                result["output_bytes"] = Path(command[command.index("-o") + 1]).stat().st_size
            results.append(result)
            print(f"{name}: exit {result['status']}, {result['peak_mb']} MB, {result['seconds']} s; "
                  f"{result['stderr'] or result.get('output_bytes', '')}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": _machine(), "load": os.getloadavg(), "cases": results},
                                              indent=2) + "\n")


def _machine() -> str:
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


if __name__ == "__main__":
    main()
