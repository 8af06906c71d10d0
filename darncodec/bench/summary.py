"""What a bench result says at a glance: the reference codec, speeds, the Pareto front, tables.

Sizes are compared with a reference codec: by default the best classic codec (the baseline with
the fewest bytes over the whole set), or one the user names. Speeds are megapixels of input per
second of wall time, for encoding and for decoding.
"""

from __future__ import annotations

import math
from pathlib import Path

from darncodec.bench.baselines import BenchError, DarnCodec
from darncodec.bench.runner import BenchResult, Row


def reference_row(result: BenchResult, name: str | None = None) -> Row | None:
    """The set row sizes are compared with: codec ``name``, else the classic codec with the fewest bytes
    (None when no classic codec ran through)."""
    done = [row for row in result.codecs if row.ok and row.bytes]
    if name is not None:
        for row in done:
            if row.codec == name:
                return row
        raise BenchError(f"--relative-to {name}: no such codec ran through (ran: {', '.join(r.codec for r in done)})")
    classic = [row for row in done if row.codec != DarnCodec.name]
    return min(classic, key=lambda row: row.bytes, default=None)


def megapixels_per_s(row: Row, step: str) -> float | None:
    """Input megapixels per second of ``step`` ('encode' or 'decode'); None without a time."""
    seconds = row.encode_s if step == "encode" else row.decode_s
    return row.pixels / seconds / 1e6 if seconds > 0 else None


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """Names of the (speed, bits per pixel) points that no other point beats on both: as fast or
    faster and as small or smaller, strictly better on one. Sorted by speed, slowest first."""
    def beaten(speed: float, size: float) -> bool:
        return any(s >= speed and b <= size and (s, b) != (speed, size) for s, b in points.values())

    return sorted((name for name, (speed, size) in points.items() if not beaten(speed, size)),
                  key=lambda name: points[name][0])


def ordered(result: BenchResult) -> list[Row]:
    """Codec rows by size, smallest first; rows without a size (failed encoders) last."""
    return sorted(result.codecs, key=lambda row: (row.bytes is None, row.bytes or 0))


def _number(value: float | None, form: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, form)


def table_rows(result: BenchResult, reference: Row | None) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Headers and cells of the codec table: size, bits per pixel, size against the reference, speeds, times."""
    against = f"vs {reference.codec}" if reference else "vs ref"
    headers = ("codec", "bytes", "bits/pixel", against, "encode MP/s", "decode MP/s", "encode s", "decode s")
    rows = []
    for row in ordered(result):
        ratio = row.bytes / reference.bytes if reference and row.bytes is not None else None
        rows.append((row.codec if row.ok else f"{row.codec} FAILED", _number(row.bytes, ",d"),
                     _number(row.bits_per_pixel, ".4f"), _number(ratio, ".3f"),
                     _number(megapixels_per_s(row, "encode"), ".3g"), _number(megapixels_per_s(row, "decode"), ".3g"),
                     f"{row.encode_s:.3f}", f"{row.decode_s:.3f}"))
    return headers, rows


def text_table(result: BenchResult, reference: Row | None) -> str:
    """The codec rows as an aligned text table, with one line per failure after it."""
    headers, rows = table_rows(result, reference)
    table = [headers, *rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
             for line in table]
    lines.extend(f"{row.codec} failed: {row.error}" for row in result.failed)
    return "\n".join(lines)


def markdown_table(result: BenchResult, reference: Row | None) -> str:
    """The codec rows as a Markdown (GitHub) table, then the codecs not run and the failures."""
    headers, rows = table_rows(result, reference)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    notes = [f"{row.codec} failed: {row.error}" for row in result.failed]
    notes += [f"{name} not run: {why}" for name, why in result.unavailable.items()]
    if notes:
        lines += [""] + [f"- {note}" for note in notes]
    return "\n".join(lines)


def short_labels(names: list[str]) -> list[str]:
    """Image labels for plots: 'ccitt1' for '../data/ccitt/ccitt1.pbm', 'test/3' for 'x.npz:test/3',
    the file name where stems repeat, the whole name where names do."""
    stems = [name.rsplit(":", 1)[1] if ".npz:" in name else Path(name).stem for name in names]
    if len(set(stems)) == len(stems):
        return stems
    files = [Path(name).name for name in names]
    return files if len(set(files)) == len(files) else list(names)
