"""The .darn container (darncodec.coding.container, docs/format.md) and how the codec treats damage.

Every damaged, foreign or mismatched file must raise FormatError: never a wrong image, never
another exception type.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darncodec import codec
from darncodec.coding import container
from darncodec.errors import FormatError
from darncodec.imageio import write_bilevel

NAMES = ["first.png", "second page é.tif#1", "data.npz:test/3"]


def sample_images() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [
        rng.integers(0, 2, (13, 21), dtype=np.uint8),  # not a multiple of the 8x8 tile
        (rng.random((8, 8)) < 0.2).astype(np.uint8),  # exactly one tile
        rng.integers(0, 2, (1, 3), dtype=np.uint8),  # smaller than a tile
    ]


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return codec.coding_model(str(tiny_model_path))


@pytest.fixture(scope="module")
def archive(model) -> bytes:
    """Coder 1 (static coding), whose layout the tests below read field by field."""
    return codec.compress(sample_images(), model, NAMES, coding="static")


@pytest.fixture(scope="module")
def small_archive(model) -> bytes:
    """One small image: fast enough to decode hundreds of times."""
    return codec.compress([sample_images()[0][:6, :9]], model, ["small"], coding="static")


def assert_round_trip(data: bytes, model, images=None, names=None) -> None:
    decoded = codec.decompress(data, model)
    images = sample_images() if images is None else images
    assert [name for name, _ in decoded] == (NAMES if names is None else names)
    for (_, bits), expected in zip(decoded, images, strict=True):
        assert bits.dtype == np.uint8
        np.testing.assert_array_equal(bits, expected)


def decode_must_fail(data: bytes, model) -> FormatError:
    """Decompressing ``data`` raises FormatError (any other outcome fails the test)."""
    with pytest.raises(FormatError) as info:
        codec.decompress(data, model)
    message = str(info.value)
    assert message and "\n" not in message
    return info.value


def test_round_trip(archive, model):
    assert archive[:4] == b"DARN"
    assert_round_trip(archive, model)


def test_round_trip_by_path(archive, tiny_model_path):
    assert_round_trip(archive, str(tiny_model_path))


def test_empty_archive(model):
    data = codec.compress([], model, [])
    assert codec.decompress(data, model) == []
    assert codec.read_header(data).images == []


def test_boolean_and_degenerate_images(model):
    images = [np.ones((1, 1), bool), np.zeros((1, 17), np.uint8), np.ones((17, 1), np.int64)]
    data = codec.compress(images, model, ["a", "b", "c"])
    assert_round_trip(data, model, [i.astype(np.uint8) for i in images], ["a", "b", "c"])


def test_payload_bytes_plus_header_is_file_size(archive):
    header = codec.read_header(archive)
    table_size = struct.unpack_from("<I", archive, 48)[0]
    overhead = 52 + table_size + 20
    assert container.header_size(archive) == overhead
    assert codec.payload_bytes(archive) + overhead == len(archive)
    n_words = struct.unpack_from("<Q", archive, 52 + table_size)[0]
    assert codec.payload_bytes(archive) == 4 * n_words
    assert header.images  # parsed fine


def test_read_header_fields(archive, model):
    header = codec.read_header(archive)
    assert header.model_hash == model.file.hash
    assert header.tile == (8, 8)
    assert header.max_batch == codec.MAX_BATCH
    assert [i.name for i in header.images] == NAMES
    assert [(i.height, i.width) for i in header.images] == [b.shape for b in sample_images()]
    assert header.pixel_crc == container.pixel_crc(sample_images())


def test_fixed_fields_are_little_endian(archive, model):
    magic, version, coder, precision, cversion, model_hash, th, tw, max_batch, _ = struct.unpack_from(
        "<4sBBBB32sHHII", archive)
    assert (magic, version, coder, precision, cversion) == (b"DARN", 1, container.CODER_STATIC, 24, 0x05)
    assert model_hash.hex() == model.file.hash
    assert (th, tw, max_batch) == (8, 8, codec.MAX_BATCH)


def test_header_round_trip_through_pack():
    header = container.Header("ab" * 32, (5, 7), 3, [
        container.ImageEntry("x", 1, 2), container.ImageEntry("ü/ß", 300, 20000), container.ImageEntry("ü/ßa", 1, 1)], 123)
    words = np.array([1, 2**32 - 1, 7], np.uint32)
    parsed, parsed_words = container.unpack(container.pack(header, words))
    assert parsed == header
    np.testing.assert_array_equal(parsed_words, words)


def test_max_batch_is_stored_and_used(model):
    images = sample_images()
    data = codec.compress(images, model, NAMES, max_batch=2, coding="static")
    assert codec.read_header(data).max_batch == 2
    assert_round_trip(data, model)


# ------------------------------------------------------------------------------------ damage


def test_truncated_everywhere(archive, model):
    cuts = sorted(set(range(0, 80)) | set(range(80, len(archive), 7)) | {len(archive) - 1})
    for cut in cuts:
        decode_must_fail(archive[:cut], model)
        with pytest.raises(FormatError):
            codec.read_header(archive[:cut])


def test_trailing_bytes(archive, model):
    err = decode_must_fail(archive + b"\0", model)
    assert "after the payload" in str(err)
    decode_must_fail(archive + archive, model)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_flipped_byte_is_detected(small_archive, model, data):
    position = data.draw(st.integers(0, len(small_archive) - 1), label="position")
    mask = data.draw(st.integers(1, 255), label="xor mask")
    damaged = bytearray(small_archive)
    damaged[position] ^= mask
    decode_must_fail(bytes(damaged), model)


def test_every_single_bit_flip_is_detected(small_archive, model):
    for position in range(len(small_archive)):
        for bit in range(8):
            damaged = bytearray(small_archive)
            damaged[position] ^= 1 << bit
            decode_must_fail(bytes(damaged), model)


def _with_payload(data: bytes, words: np.ndarray) -> bytes:
    """``data`` with another payload and every checksum recomputed (a consistent-looking file)."""
    header, _ = container.unpack(data)
    return container.pack(header, np.asarray(words, np.uint32))


def test_changed_payload_with_valid_checksums(archive, model):
    """Only the pixel checksum (and the end state of the coder) can catch this: still FormatError."""
    _, words = container.unpack(archive)
    rng = np.random.default_rng(0)
    variants = [words[:-1], words[1:], np.concatenate([words, [12345]]), np.concatenate([[1], words])]
    last_zero = words.copy()
    last_zero[-1] = 0  # constriction itself refuses this one
    variants.append(last_zero)
    for _ in range(20):
        flipped = words.copy()
        flipped[rng.integers(len(words) - 1)] ^= np.uint32(1 << int(rng.integers(32)))
        variants.append(flipped)
    for variant in variants:
        try:
            decoded = codec.decompress(_with_payload(archive, variant), model)
        except FormatError:
            continue
        # a change that does not alter what is decoded is harmless; a wrong image is not
        for (_, bits), expected in zip(decoded, sample_images(), strict=True):
            np.testing.assert_array_equal(bits, expected)


def test_changed_image_table_with_valid_checksums(archive, model):
    header, words = container.unpack(archive)
    header.images[0].width += 1
    decode_must_fail(container.pack(header, words), model)


def test_foreign_file(tmp_path, model):
    write_bilevel(tmp_path / "a.png", np.eye(9, dtype=np.uint8))
    png = (tmp_path / "a.png").read_bytes()
    err = decode_must_fail(png, model)
    assert "not a .darn file" in str(err)
    for foreign in (b"PK\x03\x04" + bytes(100), b"DARX" + bytes(200), b"\x89PNG"):
        decode_must_fail(foreign, model)
    with pytest.raises(FormatError):
        codec.read_header(png)
    with pytest.raises(FormatError):
        codec.payload_bytes(png)


def test_empty_file(model):
    err = decode_must_fail(b"", model)
    assert "not a .darn file" in str(err)
    with pytest.raises(FormatError):
        codec.read_header(b"")
    with pytest.raises(FormatError):
        codec.payload_bytes(b"")


def test_version_from_the_future(archive, model):
    newer = bytearray(archive)
    newer[4] = 2  # nothing else fixed: the version is judged before any checksum
    err = decode_must_fail(bytes(newer), model)
    assert "newer darncodec" in str(err)
    assert "version 2" in str(err)
    with pytest.raises(FormatError, match="newer darncodec"):
        codec.read_header(bytes(newer))
    for cut in (5, 20, 60):  # said even when the rest of a newer file is not understood
        with pytest.raises(FormatError, match="newer darncodec"):
            codec.read_header(bytes(newer[:cut]))


def test_adaptive_archives_say_so(model):
    page = (np.random.default_rng(8).random((72, 72)) < 0.1).astype(np.uint8)   # 81 tiles: a page
    data = codec.compress([page], model)
    assert data[5] == container.CODER_STROKES and codec.read_header(data).adaptive   # no dictionary: coder 7
    assert_round_trip(data, model, [page], ["image0"])


def test_unsupported_coder_settings(archive, model):
    for offset, value in ((5, 8), (5, 0), (6, 32), (7, 0x15)):
        changed = bytearray(archive)
        changed[offset] = value
        err = decode_must_fail(bytes(changed), model)
        assert "not supported" in str(err)


def test_other_constriction_minor_version_is_accepted(archive, model):
    """The minor version of constriction is informative only (same major: same coder)."""
    changed = bytearray(archive)
    changed[7] = 0x06
    crc_at = len(archive) - codec.payload_bytes(archive) - 4
    changed[crc_at:crc_at + 4] = struct.pack("<I", zlib.crc32(bytes(changed[:crc_at])))
    assert_round_trip(bytes(changed), model)


def test_made_with_another_model(archive, other_tiny_model_path):
    with pytest.raises(FormatError) as info:
        codec.decompress(archive, str(other_tiny_model_path))
    message = str(info.value)
    assert str(other_tiny_model_path) in message  # names the model given ...
    assert codec.read_header(archive).model_hash[:16] in message  # ... and the one it was made with


def test_unknown_model_without_model_argument(archive):
    with pytest.raises(FormatError) as info:
        codec.decompress(archive)  # the tiny model's hash is not embedded
    message = str(info.value)
    assert codec.read_header(archive).model_hash[:16] in message
    assert "--model" in message


def test_header_crc_covers_trailer(archive, model):
    """The header checksum covers the payload length and both other checksums."""
    table_size = struct.unpack_from("<I", archive, 48)[0]
    trailer = 52 + table_size
    for offset in range(trailer, trailer + 16):
        changed = bytearray(archive)
        changed[offset] ^= 0x10
        err = decode_must_fail(bytes(changed), model)
        assert "checksum" in str(err)
