"""Runs codecs over a set of images, checks every round trip and reports sizes and times.

A codec that codes one image at a time (the baselines) gets one file per image, or one
file of all the images tiled together (`concat_tiles`). A codec that codes a whole set
(darncodec: one archive with bits-back chaining across images) gets the list in one call,
so it has a row for the set but no per-image rows.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm import tqdm

from darncodec.bench.baselines import BaselineCodec, BenchError, PngCodec
from darncodec import terminal
from darncodec.errors import InputError

NamedImage = tuple[str, np.ndarray]


@dataclass
class Row:
    """Result of one codec, on the whole set (`image` None) or on one image.

    bytes: whole files; payload_bytes: coded data without the container where the codec
    can tell (darncodec, PNG, G4 TIFF), else the whole files. bits_per_pixel and
    relative_to_png (bytes over PNG's bytes) are on bytes. Sizes are None when encoding
    failed; ok is False with `error` saying why when encoding, decoding or the pixel
    comparison failed.
    """

    codec: str
    image: str | None
    images: int
    pixels: int
    bytes: int | None = None
    payload_bytes: int | None = None
    bits_per_pixel: float | None = None
    relative_to_png: float | None = None
    encode_s: float = 0.0
    decode_s: float = 0.0
    ok: bool = True
    error: str | None = None

    def fail(self, error: str) -> None:
        """Mark the row failed, keeping the first reason."""
        if self.ok:
            self.ok, self.error = False, error


@dataclass
class BenchResult:
    """Rows of a benchmark: one per codec that ran, per-image rows, and skipped codecs."""

    images: int
    pixels: int
    concat: bool
    codecs: list[Row] = field(default_factory=list)
    per_image: list[Row] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[Row]:
        """Codec rows whose round trip failed."""
        return [row for row in self.codecs if not row.ok]


def concat_tiles(images: Sequence[np.ndarray]) -> np.ndarray:
    """Tile same-size images row by row into one grid of about square shape in pixels.

    Cells past the last image stay white (0). 10,000 images of 28x28 give 2800x2800.
    """
    if not images:
        raise InputError("no images to tile")
    height, width = images[0].shape
    odd = {image.shape for image in images} - {(height, width)}
    if odd:
        sizes = ", ".join(f"{w}x{h}" for h, w in sorted(odd))
        raise InputError(f"--concat needs images of one size: {width}x{height} and {sizes}")
    columns = min(len(images), math.ceil(math.sqrt(len(images) * height / width)))
    rows = math.ceil(len(images) / columns)
    grid = np.zeros((rows * height, columns * width), dtype=np.uint8)
    for index, image in enumerate(images):
        top, left = divmod(index, columns)
        grid[top * height:(top + 1) * height, left * width:(left + 1) * width] = image
    return grid


def _difference(decoded: np.ndarray, original: np.ndarray) -> str:
    """Why `decoded` is not `original`, or '' when it is."""
    decoded = np.asarray(decoded)
    if decoded.shape != original.shape:
        return f"decoded shape {decoded.shape} instead of {original.shape}"
    wrong = int(np.count_nonzero(decoded != original))
    return f"{wrong} of {original.size} pixels differ" if wrong else ""


def _timed(call, *args):
    start = time.perf_counter()
    value = call(*args)
    return value, time.perf_counter() - start


def _describe(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"


def _code_one(codec: BaselineCodec, name: str, bits: np.ndarray) -> Row:
    """Encode, decode and compare one image."""
    row = Row(codec=codec.name, image=name, images=1, pixels=int(bits.size))
    try:
        data, row.encode_s = _timed(codec.encode, bits)
        row.bytes, row.payload_bytes = len(data), codec.payload_size(data)
        decoded, row.decode_s = _timed(codec.decode, data, bits.shape)
    except Exception as err:  # a failing codec is a failed row, not the end of the benchmark
        row.fail(f"{name}: {_describe(err)}")
        return row
    difference = _difference(decoded, bits)
    if difference:
        row.fail(f"{name}: {difference}")
    return row


def _code_set(codec: BaselineCodec, images: list[NamedImage]) -> Row:
    """Encode all images as one file, decode it and compare every image."""
    arrays = [bits for _, bits in images]
    row = Row(codec=codec.name, image=None, images=len(images), pixels=sum(b.size for b in arrays))
    try:
        data, row.encode_s = _timed(codec.encode_set, arrays, [name for name, _ in images])
        row.bytes, row.payload_bytes = len(data), codec.payload_size(data)
        decoded, row.decode_s = _timed(codec.decode_set, data)
    except Exception as err:  # a failing codec is a failed row, not the end of the benchmark
        row.fail(_describe(err))
        return row
    if len(decoded) != len(arrays):
        row.fail(f"decoded {len(decoded)} images instead of {len(arrays)}")
    for (name, bits), back in zip(images, decoded):
        difference = _difference(back, bits)
        if difference:
            row.fail(f"{name}: {difference}")
    return row


def _total(codec: BaselineCodec, rows: list[Row], images: int, pixels: int) -> Row:
    """The set row of a per-image codec: sums of its per-image rows."""
    total = Row(codec=codec.name, image=None, images=images, pixels=pixels,
                encode_s=sum(r.encode_s for r in rows), decode_s=sum(r.decode_s for r in rows))
    if all(r.bytes is not None for r in rows):
        total.bytes = sum(r.bytes for r in rows)
        total.payload_bytes = sum(r.payload_bytes for r in rows)
    failures = [r.error for r in rows if not r.ok]
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        total.fail(failures[0] + more)
    return total


def _add_ratios(rows: list[Row]) -> None:
    """Fill bits_per_pixel and relative_to_png (against the PNG row of the same image).

    Each codec's rows come in image order, so the n-th row of a codec is about the n-th
    image whatever the image names are.
    """
    position: Counter[str] = Counter()
    keyed = []
    for row in rows:
        keyed.append((position[row.codec], row))
        position[row.codec] += 1
    png = {n: row.bytes for n, row in keyed if row.codec == PngCodec.name and row.ok and row.bytes}
    for n, row in keyed:
        if row.bytes is None:
            continue
        row.bits_per_pixel = 8 * row.bytes / row.pixels if row.pixels else None
        if n in png:
            row.relative_to_png = row.bytes / png[n]


def _check(name: str, bits: np.ndarray) -> None:
    """Refuse what is not a 2-D uint8 array of 0/1."""
    if bits.ndim != 2 or bits.dtype != np.uint8 or (bits.size and bits.max() > 1):
        raise InputError(f"{name}: expected a 2-D uint8 array of 0/1, got {bits.dtype} {bits.shape}")


def run_bench(images: list[NamedImage], codecs: Sequence[BaselineCodec], *,
              concat: bool = False, progress: bool = True) -> BenchResult:
    """Benchmark `codecs` on `images`; codecs that are not available are only listed.

    With `concat`, per-image codecs code one tiled image of all the images instead
    (set codecs still get the list). Without it, set codecs also code each image alone, so that
    every codec has per-image rows. Set rows count the pixels of the images as given,
    so bits per pixel compare across codecs. With `progress`, a codec that runs longer than
    terminal.PROGRESS_DELAY_S shows a bar on stderr when stderr is a terminal.
    """
    if not images:
        raise BenchError("no images to benchmark")
    for name, bits in images:
        _check(name, bits)
    pixels = sum(int(bits.size) for _, bits in images)
    result = BenchResult(images=len(images), pixels=pixels, concat=concat)
    ready = []
    for codec in codecs:
        if codec.available():
            ready.append(codec)
        else:
            result.unavailable[codec.name] = codec.missing()
    if not ready:
        raise BenchError("none of the chosen codecs is available: "
                         + "; ".join(f"{n}: {why}" for n, why in result.unavailable.items()))
    singles = [(f"{len(images)} images tiled", concat_tiles([b for _, b in images]))] if concat else images
    show = progress and terminal.stderr_is_terminal()

    def each_alone(codec: BaselineCodec, items: list[NamedImage]) -> list[Row]:
        return [_code_one(codec, name, bits)
                for name, bits in tqdm(items, desc=codec.name, unit="image", disable=not show, leave=False,
                                       delay=terminal.PROGRESS_DELAY_S)]

    for codec in ready:
        if codec.codes_sets:
            result.codecs.append(_code_set(codec, images))
            if not concat:   # and each image alone, a file of its own, for the per-image table
                result.per_image.extend(each_alone(codec, images))
            continue
        rows = each_alone(codec, singles)
        result.per_image.extend(rows)
        result.codecs.append(_total(codec, rows, len(images), pixels))
    _add_ratios(result.codecs)
    _add_ratios(result.per_image)
    return result


def write_json(result: BenchResult, path: str | Path) -> None:
    """Write the result as JSON: images, pixels, concat, codecs, per_image, unavailable."""
    Path(path).write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")


def read_json(path: str | Path) -> BenchResult:
    """A result written by `write_json` (to print or plot it again without running the codecs)."""
    try:
        saved = json.loads(Path(path).read_text(encoding="utf-8"))
        return BenchResult(images=int(saved["images"]), pixels=int(saved["pixels"]), concat=bool(saved["concat"]),
                           codecs=[Row(**row) for row in saved["codecs"]],
                           per_image=[Row(**row) for row in saved["per_image"]],
                           unavailable=dict(saved.get("unavailable", {})))
    except (ValueError, KeyError, TypeError) as err:
        raise BenchError(f"{path}: not a bench JSON file ({type(err).__name__}: {err})") from None
