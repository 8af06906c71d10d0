"""`darncodec compress`, `decompress` and `info` (cli/coding.py) with gzip/zstd conventions.

Output beside the input, -o, -c, '-' for stdin, -f to overwrite, inputs kept, atomic writes;
every user error is exit status 1 with exactly one line ``darncodec: error: ...`` on stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from darncodec.cli.main import main
from darncodec.imageio import read_bilevel, read_bilevel_bytes, write_bilevel


def bits(height: int = 11, width: int = 13, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, (height, width), dtype=np.uint8)


@pytest.fixture(scope="module")
def model(tiny_model_path) -> str:
    return str(tiny_model_path)


def run(args: list, input: bytes | None = None):
    """Invoke the command line in-process; returns click's Result (exceptions are caught)."""
    result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r}\n{result.output}") from result.exception
    return result


def ok(args: list, input: bytes | None = None):
    result = run(args, input)
    assert result.exit_code == 0, result.output
    return result


def fails(args: list, input: bytes | None = None, needle: str | None = None) -> str:
    """The command exits 1 with one line 'darncodec: error: ...' on stderr and no traceback."""
    result = run(args, input)
    assert result.exit_code == 1, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("darncodec: error: "), lines[0]
    assert "Traceback" not in result.output
    if needle is not None:
        assert needle in lines[0], lines[0]
    return lines[0]


def only_image(path) -> np.ndarray:
    [(_, image)] = read_bilevel(path)
    return image


def leftovers(folder: Path) -> list[str]:
    """Temporary files of atomic writes left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name.endswith(".part"))


def save_pages(path: Path, pages: list[np.ndarray]) -> None:
    """A multi-page TIFF of mode '1' pages (Pillow's True = white)."""
    frames = [Image.fromarray((page == 0).astype(np.uint8) * 255).convert("1") for page in pages]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="group4")


# -------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", ["png", "pbm"])
def test_round_trip_default_names(tmp_path, model, ext):
    image = bits(seed=1)
    source = tmp_path / f"img.{ext}"
    write_bilevel(source, image)
    original = source.read_bytes()
    ok(["compress", "--model", model, source])
    archive = tmp_path / "img.darn"
    assert archive.read_bytes()[:4] == b"DARN"
    assert source.read_bytes() == original  # the input is kept
    source.unlink()
    ok(["decompress", "--model", model, archive])
    restored = tmp_path / "img.png"  # img.darn -> img.png whatever the input's format was
    np.testing.assert_array_equal(only_image(restored), image)
    assert archive.exists()  # the archive is kept too
    assert leftovers(tmp_path) == []


def test_multipage_tiff(tmp_path, model):
    pages = [bits(9, 17, seed) for seed in range(3)]
    source = tmp_path / "pages.tif"
    save_pages(source, pages)
    ok(["compress", "--model", model, source])
    info = json.loads(ok(["info", "--json", tmp_path / "pages.darn"]).stdout)
    assert [i["name"] for i in info["images"]] == ["pages.tif", "pages.tif#1", "pages.tif#2"]
    ok(["decompress", "--model", model, tmp_path / "pages.darn"])
    folder = tmp_path / "pages"
    files = sorted(folder.iterdir())
    assert [f.name for f in files] == ["00000-pages.png", "00001-pages-1.png", "00002-pages-2.png"]
    for file, page in zip(files, pages, strict=True):
        np.testing.assert_array_equal(only_image(file), page)


def test_output_option_single_file(tmp_path, model):
    image = bits(seed=2)
    write_bilevel(tmp_path / "a.png", image)
    ok(["compress", "-m", model, "-o", tmp_path / "x.darn", tmp_path / "a.png"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "x.darn"]
    ok(["decompress", "-m", model, "-o", tmp_path / "y.png", tmp_path / "x.darn"])
    np.testing.assert_array_equal(only_image(tmp_path / "y.png"), image)
    ok(["decompress", "-m", model, "-o", tmp_path / "noext", tmp_path / "x.darn"])  # PNG by default
    assert (tmp_path / "noext").read_bytes()[:4] == b"\x89PNG"
    folder = tmp_path / "into"
    folder.mkdir()
    ok(["decompress", "-m", model, "-o", folder, tmp_path / "x.darn"])  # an existing folder
    np.testing.assert_array_equal(only_image(folder / "x.png"), image)


def test_several_inputs_one_archive(tmp_path, model):
    images = {"b.png": bits(5, 7, 3), "a.pbm": bits(12, 9, 4), "c.png": bits(1, 30, 5)}
    for name, image in images.items():
        write_bilevel(tmp_path / name, image)
    order = ["b.png", "a.pbm", "c.png"]  # the command line's order, not sorted
    ok(["compress", "-m", model, "-o", tmp_path / "set.darn", *[tmp_path / n for n in order]])
    assert not (tmp_path / "b.darn").exists()
    for name in order:
        assert (tmp_path / name).exists()
    info = json.loads(ok(["info", "--json", tmp_path / "set.darn"]).stdout)
    assert [i["name"] for i in info["images"]] == order
    ok(["decompress", "-m", model, tmp_path / "set.darn"])
    files = sorted((tmp_path / "set").iterdir())
    assert [f.name for f in files] == ["00000-b.png", "00001-a.png", "00002-c.png"]
    for file, name in zip(files, order, strict=True):
        np.testing.assert_array_equal(only_image(file), images[name])
    ok(["decompress", "-m", model, "-o", tmp_path / "elsewhere", tmp_path / "set.darn"])
    assert sorted(f.name for f in (tmp_path / "elsewhere").iterdir()) == [f.name for f in files]


def test_several_inputs_one_archive_each(tmp_path, model):
    for name, seed in (("p.png", 6), ("q.png", 7)):
        write_bilevel(tmp_path / name, bits(seed=seed))
    ok(["compress", "-m", model, tmp_path / "p.png", tmp_path / "q.png"])
    assert (tmp_path / "p.darn").exists() and (tmp_path / "q.darn").exists()
    ok(["decompress", "-m", model, "-o", tmp_path / "q2.png", tmp_path / "q.darn"])
    np.testing.assert_array_equal(only_image(tmp_path / "q2.png"), bits(seed=7))


def test_same_default_output_twice_is_refused(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits())
    write_bilevel(tmp_path / "a.pbm", bits())
    fails(["compress", "-m", model, tmp_path / "a.png", tmp_path / "a.pbm"], needle="a.darn")
    assert not (tmp_path / "a.darn").exists()


def test_stdout(tmp_path, model):
    image = bits(seed=8)
    write_bilevel(tmp_path / "a.png", image)
    archive = ok(["compress", "-m", model, "-c", tmp_path / "a.png"]).stdout_bytes
    assert archive[:4] == b"DARN"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]  # nothing written beside it
    ok(["compress", "-m", model, "-o", tmp_path / "a.darn", tmp_path / "a.png"])
    assert (tmp_path / "a.darn").read_bytes() == archive  # coding is deterministic
    png = ok(["decompress", "-m", model, "-c", tmp_path / "a.darn"]).stdout_bytes
    [(_, restored)] = read_bilevel_bytes(png, "stdout")
    np.testing.assert_array_equal(restored, image)


def test_stdin(tmp_path, model):
    image = bits(seed=9)
    write_bilevel(tmp_path / "a.pbm", image)
    archive = ok(["compress", "-m", model, "-"], input=(tmp_path / "a.pbm").read_bytes()).stdout_bytes
    assert archive[:4] == b"DARN"
    png = ok(["decompress", "-m", model, "-"], input=archive).stdout_bytes
    np.testing.assert_array_equal(read_bilevel_bytes(png, "stdout")[0][1], image)
    ok(["decompress", "-m", model, "-o", tmp_path / "b.png", "-"], input=archive)
    np.testing.assert_array_equal(only_image(tmp_path / "b.png"), image)
    ok(["compress", "-m", model, "-o", tmp_path / "s.darn", "-"], input=(tmp_path / "a.pbm").read_bytes())
    assert json.loads(ok(["info", "--json", tmp_path / "s.darn"]).stdout)["images"][0]["name"] == "<stdin>"


def test_pipes_between_processes(tmp_path, model):
    """Real byte streams: compress - | decompress - -c --format tif (TIFF needs a seekable file)."""
    image = bits(seed=10)
    write_bilevel(tmp_path / "a.png", image)
    command = [sys.executable, "-c", "from darncodec.cli.main import main; main()"]
    packed = subprocess.run([*command, "compress", "-m", model, "-"], input=(tmp_path / "a.png").read_bytes(),
                            capture_output=True, check=True).stdout
    unpacked = subprocess.run([*command, "decompress", "-m", model, "-c", "--format", "tif", "-"], input=packed,
                              capture_output=True)
    assert unpacked.returncode == 0, unpacked.stderr
    assert unpacked.stdout[:4] in (b"II*\0", b"MM\0*")
    np.testing.assert_array_equal(read_bilevel_bytes(unpacked.stdout, "tif")[0][1], image)


def test_existing_output_needs_force(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits(seed=11))
    (tmp_path / "a.darn").write_bytes(b"precious")
    message = fails(["compress", "-m", model, tmp_path / "a.png"], needle="already exists")
    assert "-f" in message
    assert (tmp_path / "a.darn").read_bytes() == b"precious"
    ok(["compress", "-m", model, "-f", tmp_path / "a.png"])
    assert (tmp_path / "a.darn").read_bytes()[:4] == b"DARN"
    # the same for decompress: a.png exists
    fails(["decompress", "-m", model, tmp_path / "a.darn"], needle="already exists")
    np.testing.assert_array_equal(only_image(tmp_path / "a.png"), bits(seed=11))
    write_bilevel(tmp_path / "a.png", bits(seed=12))
    ok(["decompress", "-m", model, "--force", tmp_path / "a.darn"])
    np.testing.assert_array_equal(only_image(tmp_path / "a.png"), bits(seed=11))
    assert leftovers(tmp_path) == []


def test_existing_image_in_output_folder_needs_force(tmp_path, model):
    for name, seed in (("a.png", 1), ("b.png", 2)):
        write_bilevel(tmp_path / name, bits(seed=seed))
    ok(["compress", "-m", model, "-o", tmp_path / "set.darn", tmp_path / "a.png", tmp_path / "b.png"])
    ok(["decompress", "-m", model, tmp_path / "set.darn"])
    (tmp_path / "set" / "00001-b.png").write_bytes(b"mine")
    fails(["decompress", "-m", model, tmp_path / "set.darn"], needle="already exists")
    assert (tmp_path / "set" / "00001-b.png").read_bytes() == b"mine"
    ok(["decompress", "-m", model, "-f", tmp_path / "set.darn"])
    np.testing.assert_array_equal(only_image(tmp_path / "set" / "00001-b.png"), bits(seed=2))


def test_output_permissions_follow_umask(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits())
    ok(["compress", "-m", model, tmp_path / "a.png"])
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "a.darn").stat().st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize(("option", "expected"), [(["--format", "pbm"], b"P4"), (["--format", "tif"], None)])
def test_format_option(tmp_path, model, option, expected):
    image = bits(seed=13)
    write_bilevel(tmp_path / "a.png", image)
    ok(["compress", "-m", model, "-o", tmp_path / "a.darn", tmp_path / "a.png"])
    (tmp_path / "a.png").unlink()
    ok(["decompress", "-m", model, *option, tmp_path / "a.darn"])
    suffix = option[1]
    output = tmp_path / f"a.{suffix}"
    head = output.read_bytes()[:4]
    assert head.startswith(expected) if expected else head in (b"II*\0", b"MM\0*")
    np.testing.assert_array_equal(only_image(output), image)


def test_output_extension_chooses_format(tmp_path, model):
    image = bits(seed=14)
    write_bilevel(tmp_path / "a.png", image)
    ok(["compress", "-m", model, tmp_path / "a.png"])
    ok(["decompress", "-m", model, "-o", tmp_path / "out.tif", tmp_path / "a.darn"])
    assert (tmp_path / "out.tif").read_bytes()[:4] in (b"II*\0", b"MM\0*")
    np.testing.assert_array_equal(only_image(tmp_path / "out.tif"), image)
    ok(["decompress", "-m", model, "-o", tmp_path / "out.pbm", tmp_path / "a.darn"])
    assert (tmp_path / "out.pbm").read_bytes()[:2] == b"P4"
    fails(["decompress", "-m", model, "-o", tmp_path / "out.jpg", tmp_path / "a.darn"], needle="format")
    assert not (tmp_path / "out.jpg").exists() and leftovers(tmp_path) == []


# -------------------------------------------------------------------------------------- reports


def test_info(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits(16, 24, seed=15))
    write_bilevel(tmp_path / "b.png", bits(3, 5, seed=16))
    archive = tmp_path / "set.darn"
    ok(["compress", "-m", model, "--static", "-o", archive, tmp_path / "a.png", tmp_path / "b.png"])
    from darncodec.codec import compress
    from darncodec.segments import describe, payload_bytes

    data = archive.read_bytes()
    (segment,) = describe(data)   # two small images: one segment
    header = segment.header
    _, costs = compress([bits(16, 24, seed=15), bits(3, 5, seed=16)], model, ["a.png", "b.png"], with_costs=True,
                        coding="static")
    assert len(costs) == 2 and sum(costs) > 0
    without_model = ok(["info", archive]).stdout
    assert f"{len(data)} bytes" in without_model and "need the model" in without_model
    text = ok(["info", "-m", model, archive]).stdout
    assert f"{len(data)} bytes" in text and header.model_hash[:16] in text and "tile 8x8" in text
    lines = text.splitlines()
    assert len(lines) == 4 and "format version 2, 1 segment(s)" in lines[0]
    assert lines[1].strip().startswith("segment 1: images 1-2")
    for line, entry, cost in zip(lines[2:], header.images, costs, strict=True):
        assert entry.name in line and f"{entry.width}x{entry.height}" in line
        assert f"{cost / (entry.width * entry.height):.4f} bits/pixel" in line
    summary = json.loads(ok(["info", "-m", model, "--json", archive]).stdout)
    assert summary["bytes"] == len(data) and summary["payload_bytes"] == payload_bytes(data)
    assert summary["model_hash"] == header.model_hash and summary["tile"] == [8, 8]
    assert [(i["name"], i["height"], i["width"]) for i in summary["images"]] == [("a.png", 16, 24), ("b.png", 3, 5)]
    for item, entry, cost in zip(summary["images"], header.images, costs, strict=True):
        assert item["bits"] == pytest.approx(cost)
        assert item["bits_per_pixel"] == pytest.approx(cost / (entry.height * entry.width))
    both = json.loads(ok(["info", "--json", archive, archive]).stdout)
    assert isinstance(both, list) and len(both) == 2


def test_compress_json(tmp_path, model):
    image = bits(16, 16, seed=17)
    write_bilevel(tmp_path / "a.png", image)
    report = json.loads(ok(["compress", "-m", model, "--json", tmp_path / "a.png"]).stdout)
    size = (tmp_path / "a.darn").stat().st_size
    assert report["pixels"] == 256 and report["bytes"] == size
    assert report["bits_per_pixel"] == pytest.approx(8 * size / 256)
    assert report["elbo_bits"] > 0
    # with -c the archive owns stdout and the report goes to stderr
    result = ok(["compress", "-m", model, "--json", "-c", tmp_path / "a.png"])
    assert result.stdout_bytes[:4] == b"DARN"
    assert json.loads(result.stderr)["bytes"] == len(result.stdout_bytes)
    result = ok(["compress", "-m", model, "--json", "-"], input=(tmp_path / "a.png").read_bytes())
    assert result.stdout_bytes[:4] == b"DARN" and json.loads(result.stderr)["pixels"] == 256


# ------------------------------------------------------------------------------------- failures


def assert_no_output(folder: Path, before: set[str]) -> None:
    assert {p.name for p in folder.iterdir()} == before
    assert leftovers(folder) == []


def test_missing_input(tmp_path, model):
    fails(["compress", "-m", model, tmp_path / "nope.png"], needle="nope.png")
    fails(["decompress", "-m", model, tmp_path / "nope.darn"], needle="nope.darn")
    fails(["info", tmp_path / "nope.darn"], needle="nope.darn")
    assert list(tmp_path.iterdir()) == []


def test_grey_image_needs_threshold(tmp_path, model):
    grey = np.full((6, 6), 255, np.uint8)
    grey[:3] = 100  # darker than half: ink at --threshold 0.5
    Image.fromarray(grey).save(tmp_path / "g.png")
    fails(["compress", "-m", model, tmp_path / "g.png"], needle="threshold")
    assert_no_output(tmp_path, {"g.png"})
    ok(["compress", "-m", model, "--threshold", "0.5", tmp_path / "g.png"])
    ok(["decompress", "-m", model, "-o", tmp_path / "b.png", tmp_path / "g.darn"])
    np.testing.assert_array_equal(only_image(tmp_path / "b.png"), (grey < 128).astype(np.uint8))


def test_corrupt_image(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits(30, 30))
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "bad.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.png").write_bytes(b"this is not an image")
    fails(["compress", "-m", model, tmp_path / "bad.png"], needle="bad.png")
    fails(["compress", "-m", model, tmp_path / "junk.png"], needle="junk.png")
    fails(["compress", "-m", model, "-o", tmp_path / "all.darn", tmp_path / "a.png", tmp_path / "junk.png"])
    fails(["compress", "-m", model, tmp_path / "a.png", tmp_path / "junk.png"])  # all inputs read first
    assert_no_output(tmp_path, {"a.png", "bad.png", "junk.png"})


def test_damaged_archive(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits())
    ok(["compress", "-m", model, tmp_path / "a.png"])
    data = bytearray((tmp_path / "a.darn").read_bytes())
    data[-3] ^= 0x40
    (tmp_path / "x.darn").write_bytes(bytes(data))
    (tmp_path / "cut.darn").write_bytes(bytes(data[:30]))
    before = {p.name for p in tmp_path.iterdir()}
    message = fails(["decompress", "-m", model, tmp_path / "x.darn"], needle="damaged")
    assert str(tmp_path / "x.darn") in message  # names the archive
    fails(["decompress", "-m", model, tmp_path / "cut.darn"], needle="truncated")
    fails(["decompress", "-m", model, tmp_path / "a.png"], needle="not a .darn file")
    fails(["decompress", "-m", model, "-"], input=bytes(data), needle="damaged")
    fails(["decompress", "-m", model, "-"], input=b"", needle="not a .darn file")
    fails(["info", tmp_path / "cut.darn"], needle="truncated")
    assert_no_output(tmp_path, before)


def test_damaged_archive_of_several_images_makes_no_folder(tmp_path, model):
    for name in ("a.png", "b.png"):
        write_bilevel(tmp_path / name, bits())
    ok(["compress", "-m", model, "-o", tmp_path / "set.darn", tmp_path / "a.png", tmp_path / "b.png"])
    data = bytearray((tmp_path / "set.darn").read_bytes())
    data[-1] ^= 1
    (tmp_path / "set.darn").write_bytes(bytes(data))
    fails(["decompress", "-m", model, tmp_path / "set.darn"])
    assert_no_output(tmp_path, {"a.png", "b.png", "set.darn"})


def test_unknown_model(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits())
    fails(["compress", "-m", "no-such-model", tmp_path / "a.png"], needle="no-such-model")
    fails(["compress", "-m", "no-such-model", "-c", tmp_path / "a.png"], needle="no-such-model")
    assert_no_output(tmp_path, {"a.png"})
    ok(["compress", "-m", model, "--static", tmp_path / "a.png"])   # noise is stored (no model) by default
    (tmp_path / "a.png").unlink()
    fails(["decompress", "-m", "no-such-model", tmp_path / "a.darn"], needle="no-such-model")
    fails(["decompress", tmp_path / "a.darn"], needle="--model")  # the tiny model is not embedded
    assert_no_output(tmp_path, {"a.darn"})


def test_other_model(tmp_path, model, other_tiny_model_path):
    write_bilevel(tmp_path / "a.png", bits())
    ok(["compress", "-m", model, "--static", "-o", tmp_path / "a.darn", tmp_path / "a.png"])
    (tmp_path / "a.png").unlink()
    fails(["decompress", "-m", other_tiny_model_path, tmp_path / "a.darn"], needle=str(other_tiny_model_path))
    assert_no_output(tmp_path, {"a.darn"})


def test_bad_option_combinations(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits())
    fails(["compress", "-m", model, "-c", "-o", tmp_path / "x.darn", tmp_path / "a.png"])
    fails(["compress", "-m", model, "-o", tmp_path / "no" / "x.darn", tmp_path / "a.png"], needle="no such directory")
    ok(["compress", "-m", model, tmp_path / "a.png"])
    fails(["decompress", "-m", model, "-c", "-o", tmp_path / "b.png", tmp_path / "a.darn"])
    fails(["decompress", "-m", model, "-o", tmp_path / "b.png", tmp_path / "a.darn", tmp_path / "a.darn"])
    fails(["info", tmp_path], needle="folder")
    assert_no_output(tmp_path, {"a.png", "a.darn"})


def test_static_and_adaptive_coding(tmp_path, model):
    write_bilevel(tmp_path / "a.png", bits(80, 72, seed=17))   # 90 tiles: a page (but noise)
    ok(["compress", "-m", model, "--static", "-o", tmp_path / "s.darn", tmp_path / "a.png"])
    ok(["compress", "-m", model, "--coding", "symbols", "-o", tmp_path / "d.darn", tmp_path / "a.png"])
    ok(["compress", "-m", model, "--adaptive", "-o", tmp_path / "r.darn", tmp_path / "a.png"])
    ok(["compress", "-m", model, "--coding", "adaptive-tiles", "-o", tmp_path / "t.darn", tmp_path / "a.png"])
    ok(["compress", "-m", model, "--coding", "adaptive", "-o", tmp_path / "c.darn", tmp_path / "a.png"])
    ok(["compress", "-m", model, "-o", tmp_path / "n.darn", tmp_path / "a.png"])
    for name, coding in (("s", "static"), ("d", "symbols"), ("r", "strokes"), ("t", "adaptive-tiles"),
                         ("c", "adaptive")):
        assert json.loads(ok(["info", "--json", tmp_path / f"{name}.darn"]).stdout)["coding"] == coding
    noise = json.loads(ok(["info", "--json", tmp_path / "n.darn"]).stdout)   # noise: about its raw bits
    raw = 80 * 72 // 8
    assert noise["payload_bytes"] <= raw + 8   # stored, or coded no larger than stored (its segment's lead-in)
    if noise["coding"] == "stored":
        assert noise["images"][0]["bits"] == 80 * 72
    for name in ("s", "d", "r", "t", "n"):
        ok(["decompress", "-m", model, "-o", tmp_path / f"{name}.png", tmp_path / f"{name}.darn"])
        np.testing.assert_array_equal(read_bilevel(tmp_path / f"{name}.png")[0][1], bits(80, 72, seed=17))
    fails(["compress", "-m", "mnist16", "--adaptive", "-o", tmp_path / "x.darn", tmp_path / "a.png"],
          needle="local visible layer")
    assert not (tmp_path / "x.darn").exists()


def test_particles_option(tmp_path, model):
    """--particles S writes coder 5 with S stored (info shows it); 1 is static coding; --adaptive
    with particles is refused."""
    from darncodec.coding.particles import DEFAULT_PARTICLES

    write_bilevel(tmp_path / "a.png", bits(30, 20, seed=5))
    ok(["compress", "-m", model, "--particles", "3", "-o", tmp_path / "p.darn", tmp_path / "a.png"])
    ok(["compress", "-m", model, "--particles", "1", "-o", tmp_path / "s.darn", tmp_path / "a.png"])
    plain = np.zeros((30, 20), np.uint8)
    plain[10:20, 5:15] = 1   # not noise: by default it is coded (with particles), not stored
    write_bilevel(tmp_path / "c.png", plain)
    ok(["compress", "-m", model, "-o", tmp_path / "d.darn", tmp_path / "c.png"])
    assert json.loads(ok(["info", "--json", tmp_path / "p.darn"]).stdout)["particles"] == 3
    assert json.loads(ok(["info", "--json", tmp_path / "s.darn"]).stdout)["coding"] == "static"
    assert json.loads(ok(["info", "--json", tmp_path / "d.darn"]).stdout)["particles"] == DEFAULT_PARTICLES
    ok(["decompress", "-m", model, "-o", tmp_path / "p.png", tmp_path / "p.darn"])
    np.testing.assert_array_equal(read_bilevel(tmp_path / "p.png")[0][1], bits(30, 20, seed=5))
    fails(["compress", "-m", model, "--adaptive", "--particles", "4", "-o", tmp_path / "x.darn", tmp_path / "a.png"],
          needle="--particles")
    assert run(["compress", "-m", model, "--particles", "0", "-o", tmp_path / "x.darn", tmp_path / "a.png"]).exit_code == 2
    assert f"Default: {DEFAULT_PARTICLES} " in ok(["compress", "--help"]).stdout.replace("\n", " ")
    assert not (tmp_path / "x.darn").exists()
