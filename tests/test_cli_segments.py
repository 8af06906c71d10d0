"""The command line on version-2 archives (issue 12): --pages, --keep-going, -j, -o FOLDER and the
segments in `info`."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np
import pytest

from darncodec import segments
from darncodec.cli.options import parse_pages
from darncodec.imageio import read_bilevel, write_bilevel
from test_cli import fails, ok, run
from test_segments import page


@pytest.fixture(scope="module")
def model(tiny_model_path) -> str:
    return str(tiny_model_path)


@pytest.fixture(scope="module")
def book(tmp_path_factory, model):
    """Four pages (one segment each) compressed into book.darn; returns (archive, pages)."""
    tmp_path = tmp_path_factory.mktemp("book")
    pages = [page(seed) for seed in range(4)]
    for i, bits in enumerate(pages):
        write_bilevel(tmp_path / f"p{i}.png", bits, "png")
    archive = tmp_path / "book.darn"
    ok(["compress", "-j", "1", "-m", model, "-o", archive, *[tmp_path / f"p{i}.png" for i in range(4)]])
    return archive, pages


def test_parse_pages() -> None:
    assert parse_pages("3,10-12") == [range(2, 3), range(9, 12)]
    assert parse_pages(None) is None
    for bad in ("0", "a", "5-3", "1,,2"):
        with pytest.raises(click.BadParameter):
            parse_pages(bad)


def test_pages_restores_only_those(book, tmp_path, model) -> None:
    archive, pages = book
    ok(["decompress", "-j", "1", "-m", model, "--pages", "2,4", archive, "-o", tmp_path / "some"])
    written = sorted(p.name for p in (tmp_path / "some").iterdir())
    assert written == ["00001-p1.png", "00003-p3.png"]
    np.testing.assert_array_equal(read_bilevel(tmp_path / "some" / "00003-p3.png")[0][1], pages[3])
    ok(["decompress", "-j", "1", "-m", model, "--pages", "3", archive, "-o", tmp_path / "third.png"])
    np.testing.assert_array_equal(read_bilevel(tmp_path / "third.png")[0][1], pages[2])
    fails(["decompress", "-m", model, "--pages", "5", archive, "-o", tmp_path / "x"], needle="no image 5")


def test_keep_going_restores_the_intact_pages(book, tmp_path, model) -> None:
    archive, pages = book
    data = bytearray(archive.read_bytes())
    found = segments.segments(bytes(data))
    third = 56 + int.from_bytes(data[48:52], "little") + sum(len(s.data) - segments.SHARED for s in found[:2])
    data[third + 100] ^= 0xFF   # inside segment 3
    damaged = tmp_path / "damaged.darn"
    damaged.write_bytes(bytes(data))
    for jobs in ("1", "2"):   # images 1 and 2 are written before segment 3 is found damaged, then taken back
        line = fails(["decompress", "-j", jobs, "-m", model, damaged], needle="segment 3 of 4 (image 3)")
        assert not (tmp_path / "damaged").exists()
    result = run(["decompress", "-j", "1", "-m", model, "--keep-going", damaged])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"darncodec: error: {damaged}: image 3 lost: " + line.split(": ", 3)[3]]
    restored = sorted((tmp_path / "damaged").iterdir())
    assert [p.name for p in restored] == ["00000-p0.png", "00001-p1.png", "00003-p3.png"]
    for path, expected in zip(restored, [pages[0], pages[1], pages[3]]):
        np.testing.assert_array_equal(read_bilevel(path)[0][1], expected)


def test_info_lists_segments(book, model) -> None:
    archive, _ = book
    summary = json.loads(ok(["info", "--json", "-m", model, archive]).stdout)
    assert summary["version"] == 2 and len(summary["segments"]) == 4
    assert [s["first_image"] for s in summary["segments"]] == [1, 2, 3, 4]
    assert all(s["lead_in"] and s["coding"] == "strokes" for s in summary["segments"])
    assert len(summary["images"]) == 4 and all(i["bits"] > 0 for i in summary["images"])
    text = ok(["info", "-m", model, archive]).stdout.splitlines()
    assert "4 segment(s)" in text[0] and text[1].strip().startswith("segment 1: image 1, strokes coding")


def test_jobs_give_the_same_bytes(book, tmp_path, model) -> None:
    archive, pages = book
    parallel = tmp_path / "parallel.darn"
    ok(["compress", "-j", "2", "-m", model, "-o", parallel, *[archive.parent / f"p{i}.png" for i in range(4)]])
    assert parallel.read_bytes() == archive.read_bytes()
    ok(["decompress", "-j", "2", "-m", model, parallel])   # beside it: tmp_path/parallel/
    for i, expected in enumerate(pages):
        np.testing.assert_array_equal(read_bilevel(tmp_path / "parallel" / f"{i:05d}-p{i}.png")[0][1], expected)
    fails(["compress", "-j", "2", "--scheduler", "tcp://x:1", "-m", model, archive.parent / "p0.png"],
          needle="cannot be combined")


def test_output_folder_gets_one_archive_per_file(tmp_path, model) -> None:
    scans, out = tmp_path / "scans", tmp_path / "out"
    scans.mkdir()
    out.mkdir()
    for i in range(3):
        write_bilevel(scans / f"s{i}.png", page(10 + i)[:20], "png")
    ok(["compress", "-j", "1", "-m", model, scans, "-o", f"{out}/"])
    assert sorted(p.name for p in out.iterdir()) == ["s0.darn", "s1.darn", "s2.darn"]
    fails(["compress", "-m", model, scans, "-o", f"{out}/"], needle="already exists")
    fails(["compress", "-m", model, scans, "-o", f"{tmp_path / 'missing'}/"], needle="no such folder")


def test_workers_by_default_only_for_enough_work() -> None:
    from darncodec.parallel import MIN_PIXELS, available_cores, workers

    assert workers(None, 16, MIN_PIXELS) == min(16, available_cores())
    assert workers(None, 16, MIN_PIXELS - 1) == 1
    assert workers(3, 2, 0) == 2 and workers(3, 16, 0) == 3 and workers(4, 0, 0) == 1


def _environment_at_start(name: str) -> str | None:
    """``name`` in the environment this process was started with (what its libraries saw as they loaded)."""
    entries = Path("/proc/self/environ").read_bytes().split(b"\0")
    found = [entry.split(b"=", 1)[1].decode() for entry in entries if entry.startswith(name.encode() + b"=")]
    return found[0] if found else None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")
def test_workers_run_their_libraries_on_one_thread(monkeypatch) -> None:
    """The workers start with one thread each for OpenBLAS, OpenMP and numba in their environment
    (their libraries read it as they load, before any initializer runs); this process's environment
    comes back."""
    import os

    from darncodec.parallel import THREAD_VARIABLES, processes

    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    with processes(2, 2, 0) as pool:
        seen = list(pool.map(_environment_at_start, THREAD_VARIABLES))
    assert seen == ["1"] * len(THREAD_VARIABLES)
    assert os.environ["OMP_NUM_THREADS"] == "7" and "OPENBLAS_NUM_THREADS" not in os.environ
