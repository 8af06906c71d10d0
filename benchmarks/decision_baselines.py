"""Baselines on the symbol stage's decision set (issue 11): what the symbol stage has to beat.

Each rendered text page of darncodec.corpora.rendered (with --scans also each non-test scan of
bilevel_docs) is coded alone, one file per page, by DjVu JB2 (cjb2 -lossless), JBIG2 generic
(jbig2enc -d, decoded by jbig2dec), JBIG1 (pbmtojbg -q -p 0) and today's darncodec
(darncodec.codec.compress with the default model and coding: coder 3); the size is the whole file's
bytes, and every file is decoded and compared with the page. Never reads the CCITT pages.

    python -m benchmarks.decision_baselines [--scans] [--jbig2 PATH] [--pbm-dir DIR] \
        [--json docs/results/decision_baselines.json]

--pbm-dir writes each page as a PBM file there (for other tools); --markdown prints the table of
docs/symbols.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks.mnist_archive import machine
from darncodec.bench.baselines import BaselineCodec, DarnCodec, DjvuCodec, Jbig1Codec, Jbig2Codec, to_pbm
from darncodec.corpora.decision import decision_scans
from darncodec.corpora.rendered import decision_pages
from darncodec.fileio import write_bytes


def codecs(jbig2: str | None) -> list[BaselineCodec]:
    chosen = [DjvuCodec(), Jbig2Codec(encoder=jbig2), Jbig1Codec(), DarnCodec()]
    missing = [f"{codec.name}: {codec.missing()}" for codec in chosen if not codec.available()]
    if missing:
        raise SystemExit("cannot run " + "; ".join(missing))
    return chosen


def measure(name: str, bits: np.ndarray, chosen: list[BaselineCodec]) -> dict:
    """Bytes of each codec's file of one page, and its seconds to encode and decode (checked exact)."""
    row: dict = {"page": name, "height": int(bits.shape[0]), "width": int(bits.shape[1]),
                 "ink": round(float(bits.mean()), 4)}
    for codec in chosen:
        start = time.perf_counter()
        data = codec.encode(bits)
        middle = time.perf_counter()
        if not np.array_equal(codec.decode(data, bits.shape), bits):
            raise SystemExit(f"{codec.name} did not give {name} back exactly")
        row[f"{codec.name}_bytes"] = len(data)
        row[f"{codec.name}_seconds"] = [round(middle - start, 2), round(time.perf_counter() - middle, 2)]
    return row


def markdown(rows: list[dict], names: list[str]) -> str:
    lines = ["| page | pixels | " + " | ".join(names) + " | darncodec / DjVu |",
             "|---|---|" + "---|" * (len(names) + 1)]
    for row in rows + [_total(rows, names)]:
        sizes = " | ".join(f"{row[f'{n}_bytes']:,}" for n in names)
        pixels = f"{row['width']}x{row['height']}" if "width" in row else ""
        lines.append(f"| {row['page']} | {pixels} | {sizes} | {row['darncodec_bytes'] / row['djvu_bytes']:.2f} |")
    return "\n".join(lines)


def _total(rows: list[dict], names: list[str]) -> dict:
    return {"page": "all", **{f"{n}_bytes": sum(row[f"{n}_bytes"] for row in rows) for n in names}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", action="store_true", help="also the non-test scans of bilevel_docs")
    parser.add_argument("--jbig2", default=None, help="the jbig2enc program (default: jbig2 on PATH)")
    parser.add_argument("--pbm-dir", type=Path, default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    chosen = codecs(args.jbig2)
    names = [codec.name for codec in chosen]
    parts = {"rendered": decision_pages()}
    if args.scans:
        parts["scans"] = decision_scans()
    result: dict = {"machine": machine(), "codecs": names, "parts": {}}
    for part, pages in parts.items():
        rows = []
        for name, bits in pages:
            if args.pbm_dir:
                args.pbm_dir.mkdir(parents=True, exist_ok=True)
                write_bytes(args.pbm_dir / (name.replace("/", "_") + ".pbm"), to_pbm(bits), force=True)
            rows.append(measure(name, bits, chosen))
            print(json.dumps(rows[-1]), flush=True)
        result["parts"][part] = {"pages": rows, "totals": _total(rows, names)}
        if args.markdown:
            print(f"\n{part}\n\n{markdown(rows, names)}\n")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
