"""Baseline codecs and the benchmark runner of `darncodec bench` (not the darncodec codec)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from darncodec.bench.baselines import (BASELINES, BaselineCodec, GzipCodec, PngCodec, ToolCodec,
                                       ToolError, read_image, to_pbm)
from darncodec.bench.plots import write_plot
from darncodec.bench.runner import concat_tiles, run_bench, write_json
from darncodec.bench.summary import reference_row
from darncodec.errors import InputError

SHAPE = (37, 53)


def text_like(shape: tuple[int, int] = SHAPE, seed: int = 0) -> np.ndarray:
    """Lines of blocky 'letters' with serifs and gaps, like a tiny scanned page."""
    rng = np.random.default_rng(seed)
    bits = np.zeros(shape, dtype=np.uint8)
    for top in range(2, shape[0] - 7, 9):
        left = 1
        while left < shape[1] - 5:
            width = int(rng.integers(2, 5))
            glyph = rng.random((7, width)) < 0.45
            glyph[:, 0] |= rng.random() < 0.5  # a stem
            bits[top:top + 7, left:left + width] = glyph
            left += width + int(rng.integers(1, 3))
    return bits


IMAGES = {
    "text": text_like(),
    "white": np.zeros(SHAPE, dtype=np.uint8),
    "black": np.ones(SHAPE, dtype=np.uint8),
}


@pytest.mark.parametrize("name", list(BASELINES))
def test_available_baselines_round_trip(name: str) -> None:
    codec = BASELINES[name]()
    if not codec.available():
        pytest.skip(f"{name} unavailable: {codec.missing()}")
    assert codec.missing() == ""
    for label, bits in IMAGES.items():
        data = codec.encode(bits)
        assert isinstance(data, bytes) and data, label
        assert 0 < codec.payload_size(data) <= len(data), label
        decoded = codec.decode(data, bits.shape)
        assert decoded.dtype == np.uint8, label
        np.testing.assert_array_equal(decoded, bits, err_msg=label)


@pytest.mark.parametrize("name", [n for n, c in BASELINES.items() if issubclass(c, ToolCodec)])
def test_tool_codec_reports_missing_program(name: str) -> None:
    codec = BASELINES[name](encoder="darncodec-no-such-encoder", decoder="darncodec-no-such-decoder")
    assert not codec.available()
    why = codec.missing()
    assert "darncodec-no-such-encoder not found" in why
    assert "darncodec-no-such-decoder not found" in why
    with pytest.raises(ToolError, match="darncodec-no-such-encoder"):
        codec.encode(IMAGES["text"])


class InvertingCodec(BaselineCodec):
    """Decodes every pixel wrong."""

    name = "inverting"

    def encode(self, bits: np.ndarray) -> bytes:
        return to_pbm(bits)

    def decode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        return 1 - read_image(data)


class CrashingCodec(InvertingCodec):
    """Cannot encode at all."""

    name = "crashing"

    def encode(self, bits: np.ndarray) -> bytes:
        raise RuntimeError("no luck")


class DroppingSetCodec(InvertingCodec):
    """Codes a set as one file but loses its last image."""

    name = "dropping"
    codes_sets = True

    def encode_set(self, images: list[np.ndarray], names: list[str]) -> bytes:
        return b"".join(to_pbm(bits) for bits in images)

    def decode_set(self, data: bytes) -> list[np.ndarray]:
        return [IMAGES["text"]]


class AbsentCodec(InvertingCodec):
    name = "absent"

    def available(self) -> bool:
        return False

    def missing(self) -> str:
        return "frobnicator not found"


def named(*labels: str) -> list[tuple[str, np.ndarray]]:
    return [(label, IMAGES[label]) for label in labels]


def test_runner_json_has_one_row_per_codec(tmp_path) -> None:
    result = run_bench(named("text", "white"), [PngCodec(), GzipCodec(), AbsentCodec()])
    path = tmp_path / "bench.json"
    write_json(result, path)
    report = json.loads(path.read_text())
    assert [row["codec"] for row in report["codecs"]] == ["png", "gzip"]
    for row in report["codecs"]:
        assert row["ok"] and row["error"] is None
        assert row["images"] == 2 and row["pixels"] == 2 * SHAPE[0] * SHAPE[1]
        assert row["bytes"] > 0 and row["payload_bytes"] <= row["bytes"]
        assert row["bits_per_pixel"] == pytest.approx(8 * row["bytes"] / row["pixels"])
        assert row["encode_s"] >= 0 and row["decode_s"] >= 0
    assert report["codecs"][0]["relative_to_png"] == 1.0
    assert [(r["codec"], r["image"]) for r in report["per_image"]] == [
        ("png", "text"), ("png", "white"), ("gzip", "text"), ("gzip", "white")]
    assert report["unavailable"] == {"absent": "frobnicator not found"}


def test_runner_reports_wrong_decoding_and_crashes() -> None:
    result = run_bench(named("text", "black"), [PngCodec(), InvertingCodec(), CrashingCodec()])
    png, inverting, crashing = result.codecs
    assert png.ok
    assert not inverting.ok and "text: " in inverting.error and "pixels differ" in inverting.error
    assert inverting.bytes is not None
    assert not crashing.ok and "RuntimeError: no luck" in crashing.error and crashing.bytes is None
    assert result.failed == [inverting, crashing]


def test_runner_codes_a_set_codec_in_one_call() -> None:
    result = run_bench(named("text", "white"), [DroppingSetCodec()], concat=True)
    (row,) = result.codecs
    assert row.images == 2 and row.image is None and not row.ok
    assert "decoded 1 images instead of 2" in row.error
    assert result.per_image == []


def test_runner_concat_codes_one_tiled_image() -> None:
    result = run_bench(named("text", "white", "black"), [PngCodec()], concat=True)
    (row,) = result.per_image
    assert row.ok and row.pixels == 4 * SHAPE[0] * SHAPE[1]  # 2x2 grid, one cell blank
    assert result.codecs[0].pixels == 3 * SHAPE[0] * SHAPE[1]


def test_concat_tiles_shape_and_placement() -> None:
    digits = [np.full((28, 28), i % 2, dtype=np.uint8) for i in range(10)]
    grid = concat_tiles(digits)
    assert grid.shape == (3 * 28, 4 * 28)
    assert grid[0:28, 28:56].all() and not grid[0:28, 0:28].any()
    assert not grid[56:84, 56:112].any()  # cells past the last image are white
    assert concat_tiles([digits[0]] * 10_000).shape == (2800, 2800)
    assert concat_tiles([np.zeros((10, 40), np.uint8)] * 16).shape == (80, 80)
    with pytest.raises(InputError, match="one size"):
        concat_tiles([digits[0], np.zeros((28, 27), np.uint8)])


def test_plot_has_a_panel_per_image(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "bench.png"
    result = run_bench(named("text", "white"), [PngCodec(), GzipCodec()])
    write_plot(result, path, reference_row(result))
    assert path.read_bytes().startswith(b"\x89PNG")


def test_darncodec_row_round_trips_a_set_as_one_archive(tiny_model_path) -> None:
    from darncodec.bench.baselines import DarnCodec, PngCodec
    from darncodec.bench.runner import run_bench

    rng = np.random.default_rng(3)
    images = [(f"img{i}", (rng.random((20 + i, 30)) < 0.2).astype(np.uint8)) for i in range(3)]
    result = run_bench(images, [DarnCodec(str(tiny_model_path)), PngCodec()])
    darn = next(row for row in result.codecs if row.codec == "darncodec")
    assert not result.failed and darn.bytes > darn.payload_bytes > 0
    alone = [row for row in result.per_image if row.codec == "darncodec"]
    assert [row.image for row in alone] == ["img0", "img1", "img2"] and all(row.ok and row.bytes for row in alone)
    assert sum(row.bytes for row in alone) > darn.bytes     # one archive saves a header per image
