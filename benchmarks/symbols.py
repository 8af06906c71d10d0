"""The symbol stage (coder 4) page by page, beside coder 3, DjVu (cjb2 -lossless) and JBIG2 generic.

Each page is compressed alone (one file per page, as `darncodec compress page.pbm` does), coded as
coder 3 (`--coding adaptive`) and as coder 4 (the default), both verified by decoding; the coder-4
run also reports what its parts cost (placements, sizes, the dictionary sheet, the page's pixels) and
its compress and decompress seconds. With --sheets it measures what the glyph model is worth on
each page's dictionary sheet: the sheet's bits as coded (each batch with or without the DARN,
whichever is cheaper; h by bits back), with counts alone (never the DARN), and with the DARN on
every batch but h paid in full (no bits back).

Sets: ``decision`` (non-test pages the design was chosen on: rendered text pages of
darncodec.corpora.rendered where present, and the held-out Leptonica scans) and ``ccitt`` (CCITT
pages 1-8: test pages, reported only).

    python -m benchmarks.symbols --set decision|ccitt [--pages N] [--sheets] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time

import constriction
import numpy as np

from benchmarks.mnist_archive import machine
from darncodec import codec
from darncodec.bench.baselines import DjvuCodec, Jbig2Codec
from darncodec.coding import groups
from darncodec.coding.ans.streams import push_flags
from darncodec.coding.symbols import dictionary
from darncodec.corpora import data_root
from darncodec.imageio import read_bilevel


def decision_pages() -> list[tuple[str, np.ndarray]]:
    from benchmarks.tile_borders import HELD_OUT

    pages = []
    try:
        from darncodec.corpora.rendered import decision_pages as rendered
        pages += list(rendered())
    except ImportError:
        pass
    root = data_root() / "bilevel_docs" / "leptonica"
    return pages + [(name, bits) for name in HELD_OUT for _, bits in read_bilevel(root / name, threshold=0.5)]


def ccitt_pages() -> list[tuple[str, np.ndarray]]:
    root = data_root() / "bilevel_docs" / "ccitt"
    return [(f"ccitt{i}", read_bilevel(root / f"ccitt{i}.pbm")[0][1]) for i in range(1, 9)]


class Parts:
    """Records what SheetCoder.push reports while a page is compressed."""

    def __init__(self) -> None:
        self.found: dict[str, float] = {}

    def __enter__(self) -> "Parts":
        original = dictionary.SheetCoder.push

        def push(coder_self, coder, symbols):
            placements = dictionary.encode_placements(symbols.sizes, symbols.placements, coder_self.prob_table)
            sizes = dictionary.encode_sizes(symbols.sizes)
            coder, cost = original(coder_self, coder, symbols)
            self.found = {"classes": len(symbols.shapes), "placements": len(symbols.placements),
                          "placement_bytes": placements.cost() / 8 if len(symbols.shapes) else 0.0,
                          "size_bytes": sizes.cost() / 8,
                          "sheet_bytes": (cost - sizes.cost() - (placements.cost() if len(symbols.shapes) else 0)) / 8}
            return coder, cost

        self._original, dictionary.SheetCoder.push = original, push
        return self

    def __exit__(self, *exc) -> None:
        dictionary.SheetCoder.push = self._original


def sheet_bits(page: np.ndarray, model: codec.CodingModel, glyphs: codec.CodingModel) -> dict[str, float]:
    """The page's dictionary sheet coded three ways (see the module docstring), in bits, each time on
    a coder that already holds 2**16 random bits (as it holds the page's when the sheet is coded)."""
    symbols = dictionary.choose_symbols(page, model.network.prob_table)
    if not symbols.shapes:
        return {}
    original = groups._cheaper_of

    def forced(with_darn: bool):
        def code(coder, bitsback_codec, x, mask, bits_back, stage, try_darn):
            pushed = coder.clone()
            return pushed, bitsback_codec.push(pushed, x, mask, False, stage, latent=with_darn), with_darn
        return code

    out = {}
    for name, chooser in (("as_coded", original), ("counts_only", forced(False)), ("darn_no_bits_back", forced(True))):
        groups._cheaper_of = chooser
        try:
            coder = constriction.stream.stack.AnsCoder()
            push_flags(coder, list(np.random.default_rng(0).random(1 << 16) < 0.5))
            sheet = dictionary.SheetCoder(glyphs.network, model.network.prob_table, codec.MAX_BATCH)
            out[name] = sheet.push_sheet(coder, symbols.shapes)[1]
        finally:
            groups._cheaper_of = original
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", choices=("decision", "ccitt"), default="decision")
    parser.add_argument("--pages", type=int, default=None, help="only the first N pages")
    parser.add_argument("--sheets", action="store_true", help="also measure the glyph model on the sheets")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    pages = (decision_pages() if args.set == "decision" else ccitt_pages())[: args.pages]
    model = codec.coding_model()
    glyphs = codec.dictionary_model(model)
    djvu, jbig2 = DjvuCodec(), Jbig2Codec()
    rows = []
    for name, page in pages:
        row = {"page": name, "height": page.shape[0], "width": page.shape[1]}
        raster = codec.compress([page], model, [name], coding="adaptive")
        assert np.array_equal(codec.decompress(raster, model)[0][1], page)
        row["coder3_bytes"] = len(raster)
        with Parts() as parts:
            start = time.perf_counter()
            data = codec.compress([page], model, [name])
            row["compress_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        restored = codec.decompress(data, model)[0][1]
        row["decompress_seconds"] = time.perf_counter() - start
        assert np.array_equal(restored, page)
        row["coder4_bytes"] = len(data)
        row.update(parts.found)
        for baseline in (djvu, jbig2):
            if baseline.available():
                encoded = baseline.encode(page)
                assert np.array_equal(baseline.decode(encoded, page.shape), page)
                row[f"{baseline.name}_bytes"] = len(encoded)
        if args.sheets:
            row["sheet_bits"] = sheet_bits(page, model, glyphs)
        rows.append(row)
        print(json.dumps(row), flush=True)
    total = {key: sum(row.get(key, 0) for row in rows) for key in ("coder3_bytes", "coder4_bytes", "djvu_bytes",
                                                                    "jbig2_bytes")}
    result = {"set": args.set, "model": model.file.source, "glyph_model": glyphs.file.source, "pages": rows,
              "total": total, "machine": machine()}
    print(json.dumps(total))
    if args.json:
        with open(args.json, "w") as handle:
            handle.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
