"""What `darncodec bench` shows: the reference codec, the Pareto front, the Markdown table, the plots
(from a small bench JSON), and the paq8px / jbig2enc baselines with and without their programs."""

from __future__ import annotations

import json
import os
import re
import stat
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from darncodec.bench.baselines import BenchError, Jbig2Codec, Paq8pxCodec, PngCodec, to_pbm
from darncodec.bench.runner import read_json, run_bench
from darncodec.bench.summary import markdown_table, pareto_front, reference_row, short_labels
from darncodec.cli.main import main

PAGES = ["../data/ccitt/ccitt1.pbm", "../data/ccitt/ccitt2.pbm"]


def row(codec: str, image: str | None, images: int, pixels: int, size: int, encode_s: float, decode_s: float) -> dict:
    return {"codec": codec, "image": image, "images": images, "pixels": pixels, "bytes": size, "payload_bytes": size,
            "bits_per_pixel": 8 * size / pixels, "relative_to_png": None, "encode_s": encode_s,
            "decode_s": decode_s, "ok": True, "error": None}


def small_bench(concat: bool = False) -> dict:
    """Two pages, three codecs: darncodec smallest and slowest, jbig1 in between, png fast and large."""
    sizes = {"darncodec": (900, 1100), "jbig1": (1000, 1000), "png": (3000, 2500)}
    times = {"darncodec": (2.0, 1.5), "jbig1": (0.02, 0.03), "png": (0.01, 0.001)}
    pixels = 1000 * 1000
    per_image = [] if concat else [row(codec, page, 1, pixels, sizes[codec][i], *times[codec])
                                   for codec in sizes for i, page in enumerate(PAGES)]
    codecs = [row(codec, None, 2, 2 * pixels, sum(sizes[codec]), 2 * times[codec][0], 2 * times[codec][1])
              for codec in sizes]
    return {"images": 2, "pixels": 2 * pixels, "concat": concat, "codecs": codecs, "per_image": per_image,
            "unavailable": {"paq8px": "paq8px not found (paq8px is not packaged in Debian 12: build it from its source)"}}


@pytest.fixture
def bench_json(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps(small_bench()))
    return path


def test_reference_is_the_best_classic_codec_or_the_named_one(bench_json):
    result = read_json(bench_json)
    assert reference_row(result).codec == "jbig1"          # darncodec is smaller, but not a classic codec
    assert reference_row(result, "png").codec == "png"
    with pytest.raises(BenchError, match="--relative-to gzip"):
        reference_row(result, "gzip")


def test_pareto_front():
    points = {"slow small": (1.0, 0.1), "fast big": (100.0, 0.5), "beaten": (0.5, 0.6), "middle": (10.0, 0.3),
              "tie of middle": (10.0, 0.3)}
    assert pareto_front(points) == ["slow small", "middle", "tie of middle", "fast big"]
    assert pareto_front({"one": (1.0, 1.0)}) == ["one"]


def test_short_labels():
    assert short_labels(PAGES) == ["ccitt1", "ccitt2"]
    assert short_labels(["a/x.png", "b/x.png"]) == ["a/x.png", "b/x.png"]
    assert short_labels(["x.png", "x.tif"]) == ["x.png", "x.tif"]
    assert short_labels(["d.npz:test/0", "d.npz:test/1"]) == ["test/0", "test/1"]


def parse_markdown(text: str) -> list[dict[str, str]]:
    """The GitHub Markdown table at the start of ``text`` as dicts, checking its shape on the way:
    a header, a separator of :?---+:? cells, rows of as many cells (a '|' in a cell escaped)."""
    table = []
    for line in text.splitlines():
        if not line.startswith("|"):
            break
        assert line.endswith("|") and not line.endswith("\\|"), line
        table.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line[1:-1])])
    header, separator, *rows = table
    assert len(separator) == len(header) and all(re.fullmatch(r":?-{3,}:?", cell) for cell in separator), separator
    assert rows and all(len(cells) == len(header) for cells in rows), rows
    return [dict(zip(header, cells)) for cells in rows]


def test_markdown_table_parses(bench_json):
    result = read_json(bench_json)
    text = markdown_table(result, reference_row(result))
    rows = parse_markdown(text)
    assert [r["codec"] for r in rows] == ["darncodec", "jbig1", "png"]    # smallest first
    assert [int(r["bytes"].replace(",", "")) for r in rows] == [2000, 2000, 5500]
    assert float(rows[0]["vs jbig1"]) == 1.0 and float(rows[2]["vs jbig1"]) == 2.75
    assert float(rows[0]["encode MP/s"]) == pytest.approx(2 / 4.0, rel=1e-2)
    assert float(rows[2]["decode MP/s"]) == pytest.approx(2 / 0.002, rel=1e-2)
    assert "- paq8px not run: paq8px not found" in text


@pytest.mark.parametrize("concat", [False, True])
def test_plots_render_from_a_small_bench_json(tmp_path, concat):
    pytest.importorskip("matplotlib")
    from darncodec.bench.plots import write_plot

    path = tmp_path / "bench.json"
    path.write_text(json.dumps(small_bench(concat)))
    result = read_json(path)
    for reference in (reference_row(result), reference_row(result, "png"), None):
        image = tmp_path / f"plot-{reference.codec if reference else 'none'}.png"
        write_plot(result, image, reference)
        assert image.read_bytes().startswith(b"\x89PNG") and image.stat().st_size > 20_000


def invoke(args: list):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_bench_command_from_json_markdown_and_plot(bench_json, tmp_path):
    pytest.importorskip("matplotlib")
    done = invoke(["bench", "--from-json", bench_json, "--markdown", "--plot", tmp_path / "p.png"])
    assert done.exit_code == 0, done.output
    assert [r["codec"] for r in parse_markdown(done.stdout)] == ["darncodec", "jbig1", "png"]
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG")
    text = invoke(["bench", "--from-json", bench_json, "--relative-to", "png"])
    assert text.exit_code == 0 and "vs png" in text.stdout.splitlines()[1] and "unavailable: paq8px" in text.stdout


@pytest.mark.parametrize("args, needle", [
    (["bench"], "give INPUT"),
    (["bench", "--relative-to", "gzip", "--from-json", "{json}"], "--relative-to gzip"),
    (["bench", "x.png", "--from-json", "{json}"], "--from-json takes no INPUT"),
])
def test_bench_command_errors(bench_json, args, needle):
    done = invoke([str(bench_json) if a == "{json}" else a for a in args])
    assert done.exit_code == 1
    assert done.stderr.startswith("darncodec: error: ") and needle in done.stderr and len(done.stderr.splitlines()) == 1


def test_paq8px_and_jbig2_reported_unavailable_without_their_programs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))   # nothing there
    bits = np.eye(16, dtype=np.uint8)
    result = run_bench([("eye", bits)], [PngCodec(), Paq8pxCodec(), Jbig2Codec()])
    assert [r.codec for r in result.codecs] == ["png"]
    assert result.unavailable["paq8px"].startswith("paq8px not found (")
    assert result.unavailable["jbig2"].startswith("jbig2 not found (")


def fake_program(folder, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\nset -e\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_paq8px_and_jbig2_run_when_their_programs_are_on_path(tmp_path, monkeypatch):
    """Stand-ins that store the PBM file as it is, called with the real programs' arguments."""
    fake_program(tmp_path, "paq8px", '[ "$1" = -8 ] || [ "$1" = -d ]\ncp "$2" "$3"\n')
    fake_program(tmp_path, "jbig2", '[ "$1" = -d ]\ncat "$2"\n')
    fake_program(tmp_path, "jbig2dec", '[ "$1 $2 $3" = "-t pbm -o" ]\ncp "$5" "$4"\n')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    bits = np.random.default_rng(0).integers(0, 2, (9, 21), dtype=np.uint8)
    result = run_bench([("a", bits), ("b", 1 - bits)], [Paq8pxCodec(), Jbig2Codec()])
    assert result.unavailable == {} and not result.failed
    assert [r.codec for r in result.codecs] == ["paq8px", "jbig2"]
    assert all(r.bytes == 2 * len(to_pbm(bits)) for r in result.codecs)
    assert [(r.codec, r.image) for r in result.per_image] == [("paq8px", "a"), ("paq8px", "b"), ("jbig2", "a"),
                                                              ("jbig2", "b")]


def test_plot_without_matplotlib_says_what_to_install(bench_json, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import matplotlib now raises ImportError
    done = invoke(["bench", "--from-json", bench_json, "--plot", tmp_path / "p.png"])
    assert done.exit_code == 1 and not (tmp_path / "p.png").exists()
    assert done.stderr == "darncodec: error: --plot needs matplotlib: pip install 'darncodec[plot]'\n"
