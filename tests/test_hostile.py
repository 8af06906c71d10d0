"""Hostile inputs (issue 13): crafted archives, image bombs, truncated images, crafted model files.

Each is refused with one clear error before anything large is allocated or any long work is done;
the stored fallback (coder 6) keeps noise at its raw size; old archives decode as before.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.numpy import load_file, save_file

from darncodec import codec
from darncodec.coding import container, stored
from darncodec.coding.limits import Limits, LimitError, inflate
from darncodec.errors import FormatError, InputError, ModelError
from darncodec.imageio import read_bilevel, read_bilevel_bytes

GOLDEN = Path(__file__).resolve().parent / "data"


def varint(value: int) -> bytes:
    return container.varint(value)


def craft(table: bytes, words: np.ndarray = np.zeros(0, np.uint32), coder: int = container.CODER_STATIC,
          model_hash: str = "ab" * 32, tile: tuple[int, int] = (8, 8), pixel_crc: int = 0) -> bytes:
    """An archive with the raw image ``table`` (storage byte included) and valid checksums."""
    payload = np.asarray(words, "<u4").tobytes()
    head = struct.pack("<4sBBBB32sHHII", b"DARN", 1, coder, 24, 0x05, bytes.fromhex(model_hash), *tile, 2048,
                       len(table)) + table
    head += struct.pack("<QII", len(payload) // 4, zlib.crc32(payload), pixel_crc)
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def one_image_table(height: int, width: int) -> bytes:
    return b"\0" + varint(1) + varint(0) + varint(1) + b"x" + varint(height) + varint(width)


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return codec.coding_model(str(tiny_model_path))


# ------------------------------------------------------------------------------- archive limits


@pytest.mark.parametrize("side", [100_000, 46_341, 20_000])
def test_huge_claimed_image_is_refused_before_anything_is_allocated(model, side, monkeypatch):
    data = craft(one_image_table(side, side), model_hash=model.file.hash)
    monkeypatch.setattr(codec, "tile_masks", _must_not_run)
    with pytest.raises(LimitError, match="--max-pixels"):
        codec.decompress(data, model)


def _must_not_run(*args, **kwargs):
    raise AssertionError("reached")


def test_archive_pixels_count_whole_tiles(model):
    """A million 1x1 images claim 64 million coded pixels with 8x8 tiles: over a lowered limit."""
    count = 200
    table = b"\0" + varint(count) + b"".join(varint(0) + varint(0) + varint(1) + varint(1) for _ in range(count))
    data = craft(table, model_hash=model.file.hash)
    with pytest.raises(LimitError, match="--max-archive-pixels"):
        codec.decompress(data, model, limits=Limits(max_archive_pixels=64 * count - 1))
    with pytest.raises(FormatError, match="checksum"):  # within the limit it is decoded (and fails its CRC)
        codec.decompress(data, model, limits=Limits(max_archive_pixels=64 * count))


@pytest.mark.parametrize("count", [10**6 + 1, 10**7])
def test_claimed_image_count_is_refused_before_the_entries_are_read(count):
    with pytest.raises(LimitError, match="--max-images"):
        container.unpack(craft(b"\0" + varint(count) + bytes(16)))
    with pytest.raises(FormatError, match="image table"):  # within the limit, the table is too short for it
        container.unpack(craft(b"\0" + varint(count) + bytes(16)), Limits(max_images=count))


@pytest.mark.parametrize("method", [1, 2])
def test_table_bomb_is_refused_after_the_limit(method):
    import lzma

    raw = varint(1) + bytes(3 * 10**7)   # 30 MB of zeros: one image, then leftover bytes
    packed = zlib.compress(raw, 9) if method == 1 else lzma.compress(raw)
    limits = Limits(max_images=100)      # a table of at most 1 MiB + 6400 bytes
    with pytest.raises(LimitError, match="inflates beyond"):
        container.unpack(craft(bytes([method]) + packed), limits)
    assert inflate(method, packed, len(raw)) == raw
    with pytest.raises(FormatError, match="cut short"):
        inflate(method, packed[: len(packed) // 2], len(raw))


def test_long_varint_is_damage():
    with pytest.raises(FormatError, match="image table"):
        container.unpack(craft(b"\0" + b"\xff" * 5000 + b"\x01"))


def test_empty_payload_stops_at_once(model, monkeypatch):
    """An empty payload pops only zeros: the decoder stops at the first batch boundary instead of
    decoding zeros for every tile (62,500 tiles here), then the pixel CRC refuses it."""
    data = craft(one_image_table(2000, 2000), model_hash=model.file.hash, pixel_crc=12345)
    monkeypatch.setattr(codec.BitsBackCodec, "pop", _must_not_run)
    with pytest.raises(FormatError, match="checksum"):
        codec.decompress(data, model)


def test_payload_that_runs_dry_gives_white_tiles_as_decoding_zeros_would(model):
    """The early stop changes nothing: a white image whose pixel CRC is right decodes to white."""
    white = np.zeros((64, 64), np.uint8)
    data = craft(one_image_table(64, 64), model_hash=model.file.hash, pixel_crc=container.pixel_crc([white]))
    np.testing.assert_array_equal(codec.decompress(data, model)[0][1], white)


def test_compress_checks_the_limits(model):
    with pytest.raises(LimitError, match="--max-pixels"):
        codec.compress([np.zeros((10, 10), np.uint8)], model, limits=Limits(max_pixels=99))
    with pytest.raises(LimitError, match="--max-images"):
        codec.compress([np.zeros((1, 1), np.uint8)] * 3, model, limits=Limits(max_images=2))


# ---------------------------------------------------------------------------- stored (coder 6)


def test_noise_is_stored_at_its_raw_size(model):
    noise = np.random.default_rng(3).integers(0, 2, (37, 45), dtype=np.uint8)
    data, costs = codec.compress([noise], model, ["n"], with_costs=True)
    header = codec.read_header(data)
    assert header.coding == "stored" and not header.needs_model and costs == [37 * 45]
    assert codec.payload_bytes(data) == 4 * -(-(-(-37 * 45 // 8)) // 4)
    np.testing.assert_array_equal(codec.decompress(data)[0][1], noise)    # no model needed
    assert codec.image_costs(data) == [37 * 45]
    coded = codec.compress([noise], model, ["n"], coding="static")       # asked for: coded all the same
    assert codec.read_header(coded).coding == "static" and len(coded) > len(data)


def test_stored_archives_of_several_images_and_none():
    rng = np.random.default_rng(4)
    images = [rng.integers(0, 2, shape, dtype=np.uint8) for shape in [(1, 1), (3, 5), (8, 8), (17, 9)]]
    data = codec.compress(images, None, list("abcd"), coding="stored")
    assert [bits.tolist() for _, bits in codec.decompress(data)] == [bits.tolist() for bits in images]
    assert codec.decompress(codec.compress([], None, [], coding="stored")) == []


def test_stored_damage_is_refused():
    noise = np.random.default_rng(5).integers(0, 2, (5, 7), dtype=np.uint8)   # 35 bits: 5 bytes, 2 words
    data = codec.compress([noise], None, ["n"], coding="stored")
    header, words = container.unpack(data)
    for bad_words in (words[:1], np.append(words, 1), words | np.uint32(1 << 31)):  # short, long, padding set
        with pytest.raises(FormatError):
            codec.decompress(container.pack(header, bad_words))
    header.model_hash = "ab" * 32
    with pytest.raises(FormatError, match="names a model"):
        codec.decompress(container.pack(header, words))


def test_golden_stored_archive_decodes():
    """Noise made with the embedded default model falls back to coder 6, byte for byte."""
    data = (GOLDEN / "noise-stored.darn").read_bytes()
    noise = np.random.default_rng(2026).integers(0, 2, (48, 80), dtype=np.uint8)
    assert codec.read_header(data).coding == "stored"
    np.testing.assert_array_equal(codec.decompress(data)[0][1], noise)
    assert codec.compress([noise], names=["noise.png"]) == data


def test_stored_words_are_packbits():
    images = [np.array([[1, 0, 1]], np.uint8), np.ones((2, 5), np.uint8)]
    raw = np.asarray(stored.pack(images), "<u4").tobytes()
    assert raw == bytes([0b10100000, 0xFF, 0b11000000, 0])


# --------------------------------------------------------------------------------- input images


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def one_bit_png(width: int, height: int, rows: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(rows, 9))
            + png_chunk(b"IEND", b""))


def test_png_whose_data_ends_early_is_refused():
    """Pillow itself accepts it and leaves the missing rows black: ink that was never there."""
    rows = b"".join(b"\0" + b"\xff" * 160 for _ in range(10))   # 10 of 1650 rows
    data = one_bit_png(1275, 1650, rows)
    with pytest.raises(InputError, match="scan.png: damaged or truncated PNG"):
        read_bilevel_bytes(data, "scan.png")


@pytest.mark.parametrize("side", [46_000, 12_000])
def test_png_bomb_is_refused_before_decoding(side, monkeypatch):
    from PIL import ImageFile

    data = one_bit_png(side, side, b"")
    monkeypatch.setattr(ImageFile.ImageFile, "load", _must_not_run)
    with pytest.raises(InputError, match="bomb.png: .*pixels"):
        read_bilevel_bytes(data, "bomb.png", max_pixels=10**8)


def test_image_limit_is_the_callers(tmp_path):
    bits = np.zeros((30, 40), np.uint8)
    Image.fromarray(bits.astype(bool)).save(tmp_path / "a.png")
    with pytest.raises(InputError, match="--max-pixels"):
        read_bilevel(tmp_path / "a.png", max_pixels=30 * 40 - 1)
    assert read_bilevel(tmp_path / "a.png", max_pixels=30 * 40)[0][1].shape == (30, 40)


@pytest.mark.parametrize("interlace", [0, 1])
@pytest.mark.parametrize("mode", ["1", "L", "RGB", "P"])
def test_complete_pngs_still_read(mode, interlace):
    bits = (np.random.default_rng(6).random((23, 37)) < 0.4)
    image = Image.fromarray(~bits).convert(mode)
    out = io.BytesIO()
    image.save(out, "PNG", interlace=interlace)
    np.testing.assert_array_equal(read_bilevel_bytes(out.getvalue(), "x")[0][1], bits)


# ---------------------------------------------------------------------------------- model files


def crafted_model(tmp_path: Path, source: Path, change) -> str:
    from safetensors import safe_open

    with safe_open(str(source), framework="numpy") as handle:
        meta = handle.metadata()
    tensors = load_file(str(source))
    change(tensors)
    path = tmp_path / "crafted.safetensors"
    save_file(tensors, str(path), metadata=meta)
    return str(path)


def _set(name, value):
    def change(tensors):
        tensors[name] = value
    return change


def _drop(name):
    def change(tensors):
        del tensors[name]
    return change


def _scale(name, factor):
    def change(tensors):
        tensors[name] = (tensors[name] * factor).astype(np.float32)
    return change


def _nan(name):
    def change(tensors):
        tensors[name] = tensors[name].copy()
        tensors[name].flat[0] = np.nan
    return change


@pytest.mark.parametrize("change, needle", [
    (_drop("float.top_bias"), "missing float.top_bias"),
    (_set("float.extra", np.zeros(3, np.float32)), "unexpected float.extra"),
    (_set("float.top_bias", np.zeros(5, np.float32)), "float.top_bias"),
    (_set("float.visible_ar.weight", np.zeros((64, 13), np.float32)), "visible_ar.weight"),
    (_nan("float.decoder.0.outer.weight"), "not finite"),
    (_scale("float.decoder.0.outer.weight", 1e30), "too large"),
    (_set("coding.prob_table", np.arange(1, 100, dtype=np.int64)), "prob_table"),
    (_set("coding.prob_table", np.full(4097, 1 << 24, np.int64)), "prob_table"),
    (_set("coding.tanh_thresholds", np.zeros(128, np.float32)), "tanh_thresholds"),
    (_drop("coding.tanh_thresholds"), "coding tables"),
])
def test_crafted_model_files_are_refused(tmp_path, tiny_model_path, change, needle):
    path = crafted_model(tmp_path, tiny_model_path, change)
    with pytest.raises(ModelError, match=needle):
        codec.coding_model(path)


def test_tile_size_that_does_not_fit_the_weights(tmp_path, tiny_model_path):
    import json

    from safetensors import safe_open

    with safe_open(str(tiny_model_path), framework="numpy") as handle:
        meta = dict(handle.metadata())
    config = json.loads(meta["config"])
    config["height"] = 16
    meta["config"] = json.dumps(config)
    path = tmp_path / "tile.safetensors"
    save_file(load_file(str(tiny_model_path)), str(path), metadata=meta)
    with pytest.raises(ModelError, match="config needs"):
        codec.coding_model(str(path))


def test_float_shapes_are_those_of_the_network():
    from darncodec.model.config import DarnConfig
    from darncodec.model.darn import DARN
    from darncodec.model.io import float_shapes

    for config in [DarnConfig(8, 8, latent=(6, 4), hidden=5, visible="local", radius=2, table=5, skip=True),
                   DarnConfig(4, 5, latent=(3,), hidden=0, visible="full", encoder_autoregressive=True),
                   DarnConfig(6, 6, latent=(2, 2, 3), visible="local", radius=1, shared=True),
                   DarnConfig(28, 28),
                   DarnConfig(9, 7, latent=(4, 3), hidden=5, skip=True, local_hidden=(3, 4, 2, 2)),
                   DarnConfig(8, 8, latent=(4,), hidden=0, local_hidden=(2, 3, 3, 1))]:
        network = {f"float.{k}": tuple(v.shape) for k, v in DARN(config).state_dict().items()}
        assert float_shapes(config) == network


# ---------------------------------------------------------------------------------------- fuzz


@pytest.fixture(scope="module")
def fuzz_archives(model):
    rng = np.random.default_rng(11)
    page = (rng.random((20, 30)) < 0.08).astype(np.uint8)
    return [codec.compress([page, page[:5, :7]], model, ["p", "q"], coding=coding)
            for coding in ("static", "adaptive", "stored")]


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, 2), where=st.floats(0, 1, exclude_max=True),
       how=st.sampled_from(["flip", "byte", "cut", "insert", "crc"]), value=st.integers(0, 255))
def test_fuzzed_archives_fail_cleanly(model, fuzz_archives, which, where, how, value):
    """Damage anywhere (header, table, payload), checksums recomputed or not: FormatError or the
    original images (a changed name, with the checksums made to agree, is a valid archive), never
    another exception and never a wrong image."""
    data = bytearray(fuzz_archives[which])
    at = int(where * len(data))
    if how == "flip":
        data[at] ^= 1 << (value % 8)
    elif how == "byte":
        data[at] = value
    elif how == "cut":
        del data[at:]
    elif how == "insert":
        data[at:at] = bytes([value])
    else:  # change a byte, then make every checksum agree, so that the decoder itself must notice
        data[at] = value
        data = bytearray(_recrc(bytes(data)))
    original = codec.decompress(fuzz_archives[which], model)
    try:
        decoded = codec.decompress(bytes(data), model)
    except FormatError:
        return
    assert [b.tolist() for _, b in decoded] == [b.tolist() for _, b in original]   # names are labels only


def _recrc(data: bytes) -> bytes:
    """``data`` with its payload and header CRCs recomputed (when its layout still parses)."""
    if len(data) < 52:
        return data
    table = struct.unpack_from("<I", data, 48)[0]
    trailer = 52 + table
    if len(data) < trailer + 20:
        return data
    words = struct.unpack_from("<Q", data, trailer)[0]
    payload = data[trailer + 20:]
    if len(payload) != 4 * words:
        return data
    head = bytearray(data[:trailer + 16])
    struct.pack_into("<I", head, trailer + 8, zlib.crc32(payload))
    return bytes(head) + struct.pack("<I", zlib.crc32(head)) + payload


# -------------------------------------------------------------------------------------- signals


def _cli(*args) -> list[str]:
    import sys

    return [sys.executable, "-c", "from darncodec.cli.main import main; main()", *map(str, args)]


def _signal_when(process, ready, signum: int, timeout: float = 60.0) -> int:
    """Send ``signum`` once ``ready()`` holds (polled), then wait; the exit status."""
    start = time.monotonic()
    while not ready():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() - start < timeout
        time.sleep(0.002)
    process.send_signal(signum)
    return process.wait(timeout=timeout)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_signal_while_decompressing_into_an_existing_folder_leaves_it_as_it_was(tmp_path, signame):
    import signal
    import subprocess

    rng = np.random.default_rng(12)
    images = [rng.integers(0, 2, (400, 400), dtype=np.uint8) for _ in range(60)]   # PNGs take a while
    (tmp_path / "set.darn").write_bytes(codec.compress(images, None, [f"i{i}.png" for i in range(60)],
                                                       coding="stored"))
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "mine.txt").write_text("the user's")
    process = subprocess.Popen(_cli("decompress", "-o", folder, tmp_path / "set.darn"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    status = _signal_when(process, lambda: len(list(folder.iterdir())) > 2, getattr(signal, signame))
    error = process.stderr.read().decode()
    assert status == 128 + getattr(signal, signame), error
    assert "Traceback" not in error and len(error.splitlines()) == 1, error
    assert [p.name for p in folder.iterdir()] == ["mine.txt"]       # no image, no .part file


def test_sigterm_while_compressing_removes_the_archives_written(tmp_path):
    import signal
    import subprocess

    rng = np.random.default_rng(13)
    for i in range(40):
        Image.fromarray(rng.random((300, 300)) < 0.5).save(tmp_path / f"p{i:02d}.png")
    process = subprocess.Popen(_cli("compress", *sorted(tmp_path.glob("*.png"))),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    status = _signal_when(process, lambda: any(tmp_path.glob("*.darn")), signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, process.stderr.read().decode()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".png"] * 40


def test_npz_array_is_held_to_the_limit_before_it_is_inflated(tmp_path):
    from darncodec.imageio import load_inputs

    np.savez_compressed(tmp_path / "a.npz", big=np.zeros((100, 28, 28), np.uint8))
    with pytest.raises(InputError, match="a.npz:big: array of shape"):
        load_inputs([str(tmp_path / "a.npz")], max_pixels=100 * 784 - 1)
    assert len(load_inputs([str(tmp_path / "a.npz:big")], max_pixels=100 * 784)) == 100


@pytest.mark.parametrize("field, value", [("radius", 10**9), ("height", 10**9), ("latent", [10**9]),
                                          ("hidden", 10**12), ("table", 5000)])
def test_crafted_config_is_refused_without_building_it(tmp_path, tiny_model_path, field, value):
    import json

    from safetensors import safe_open

    with safe_open(str(tiny_model_path), framework="numpy") as handle:
        meta = dict(handle.metadata())
    meta["config"] = json.dumps({**json.loads(meta["config"]), field: value})
    path = tmp_path / "config.safetensors"
    save_file(load_file(str(tiny_model_path)), str(path), metadata=meta)
    with pytest.raises(ModelError):   # (building neighbourhoods for such a config would not end)
        codec.coding_model(str(path))
