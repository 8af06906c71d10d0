"""Format version 2 (darncodec.segments): independent segments, random access, damage kept to its
segment, the same bytes on any executor, and the version-2 golden archive."""

from __future__ import annotations

import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from darncodec import codec, segments
from darncodec.coding import container
from darncodec.errors import FormatError, InputError
from darncodec.imageio import read_bilevel

GOLDEN = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parents[1] / "corpora" / "samples"


def page(seed: int, height: int = 72, width: int = 80) -> np.ndarray:
    """An image of at least GROUP_TILES 8x8 tiles: a page for the tiny model."""
    bits = np.zeros((height, width), np.uint8)
    bits[seed % 5::6, :] = 1
    return bits | (np.random.default_rng(seed).random(bits.shape) < 0.05).astype(np.uint8)


def small(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((9 + seed % 4, 11)) < 0.3).astype(np.uint8)


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return codec.coding_model(str(tiny_model_path))


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [page(1), small(2), small(3), page(4), small(5)]


@pytest.fixture(scope="module")
def archive(model, images) -> bytes:
    return segments.compress(images, model, [f"im{i}" for i in range(len(images))])


def test_plan_pages_alone_small_images_grouped_up_to_the_budget() -> None:
    tile = (8, 8)
    shapes = [(72, 80), (10, 10), (10, 10), (72, 80), (10, 10)]
    assert segments.plan(shapes, tile) == [[0], [1, 2], [3], [4]]
    with mock.patch.object(segments, "SEGMENT_PIXELS", 250):
        assert segments.plan([(10, 10)] * 5, tile) == [[0, 1], [2, 3], [4]]
    assert segments.plan([], tile) == [[]]


def test_round_trip_and_layout(archive, model, images) -> None:
    assert archive[:5] == b"DARN\x02"
    found = segments.segments(archive)
    assert [(s.first, s.count, s.lead_in) for s in found] == [(0, 1, True), (1, 2, False), (3, 1, True), (4, 1, False)]
    pages = {container.CODER_STROKES, container.CODER_SYMBOLS}   # each segment codes as the codec chooses:
    small = {container.CODER_PARTICLES, container.CODER_STATIC, container.CODER_STORED}   # (noise may be stored)
    assert [s.coder in kinds for s, kinds in zip(found, (pages, small, pages, small))] == [True] * 4
    for segment in found:   # each segment is a stand-alone version-1 archive
        assert codec.read_header(segment.data).images[int(segment.lead_in):]
    restored = segments.decompress(archive, model)
    assert restored.total == 5 and not restored.lost
    assert [(i, name) for i, name, _ in restored.images] == [(i, f"im{i}") for i in range(5)]
    for (_, _, bits), expected in zip(restored.images, images, strict=True):
        np.testing.assert_array_equal(bits, expected)
    stored = len(archive) - sum(len(s.data) - segments.SHARED for s in found)
    assert stored == segments.SHARED + 8 + len(archive[52:52 + int.from_bytes(archive[48:52], "little")])


def test_costs_match_version_one(archive, model, images) -> None:
    """Each image's bits are those of its segment coded as a version-1 archive."""
    costs = segments.image_costs(archive, model)
    assert len(costs) == 5
    for segment in segments.segments(archive):
        alone = codec.image_costs(segment.data, model)[int(segment.lead_in):]
        assert costs[segment.first:segment.first + segment.count] == pytest.approx(alone)


def test_lead_in_puts_a_page_in_one_batch(model) -> None:
    """A page after the lead-in is coded as the second group (batches of max_batch), exactly as the
    same page after another image in a chained version-1 archive."""
    data = segments.compress([page(7)], model, ["p"])
    alone = segments.segments(data)[0].data
    chained = codec.compress([segments.LEAD_IN, page(7)], model, ["", "p"])
    assert alone == chained


def test_pages_decode_only_their_segments(archive, model, images) -> None:
    calls = []
    real = codec.decompress

    def counting(data, *args, **kwargs):
        calls.append(data)
        return real(data, *args, **kwargs)

    with mock.patch.object(codec, "decompress", counting):
        restored = segments.decompress(archive, model, pages=[2, range(3, 4)])
    assert [i for i, _, _ in restored.images] == [2, 3]
    np.testing.assert_array_equal(restored.images[0][2], images[2])
    assert len(calls) == 2
    with pytest.raises(InputError, match="no image 6"):
        segments.decompress(archive, model, pages=[5])


def test_the_stream_knows_its_images_before_decoding_and_gives_each_segment_in_order(archive, model, images) -> None:
    calls = []
    real = codec.decompress

    def counting(data, *args, **kwargs):
        calls.append(len(data))
        return real(data, *args, **kwargs)

    with mock.patch.object(codec, "decompress", counting):
        plan = segments.plan_restore([archive, archive], model, pages=[1, range(3, 5)])
        assert plan.tasks == 6 and not calls   # segments 2, 3 and 4 of each archive, found from headers alone
        stream = segments.decompress_stream(plan)
        restoring = next(stream)
        assert not calls   # the executor is None: nothing is decoded before its part is read
        assert (restoring.total, restoring.asked) == (5, 3)
        assert restoring.expected == [(1, "im1"), (3, "im3"), (4, "im4")]
        assert [i for i, _, _ in next(restoring.parts).images] == [1]   # segment 2
        assert len(calls) == 1
        other = next(stream)   # the first archive's unread parts are read (and dropped) first
        assert len(calls) == 3
        parts = list(other.parts)
        assert [[i for i, _, _ in part.images] for part in parts] == [[1], [3], [4]]   # segments 2, 3 and 4
    for part in parts:
        for i, _, bits in part.images:
            np.testing.assert_array_equal(bits, images[i])


def _segment_at(archive: bytes, number: int) -> int:
    found = segments.segments(archive)
    index_end = 56 + int.from_bytes(archive[48:52], "little")
    return index_end + sum(len(s.data) - segments.SHARED for s in found[:number])


@pytest.mark.parametrize("number", [0, 1, 2, 3])
def test_damage_stays_in_its_segment(archive, model, images, number) -> None:
    found = segments.segments(archive)
    damaged = bytearray(archive)
    damaged[_segment_at(archive, number) + len(found[number].data) // 2 - segments.SHARED] ^= 0x10
    with pytest.raises(FormatError, match=f"segment {number + 1} of 4"):
        segments.decompress(bytes(damaged), model)
    restored = segments.decompress(bytes(damaged), model, keep_going=True)
    lost = list(found[number].images)
    assert [i for item in restored.lost for i in item.images] == lost
    assert all(f"segment {number + 1} of 4" in item.reason for item in restored.lost)
    assert [i for i, _, _ in restored.images] == [i for i in range(5) if i not in lost]
    for i, _, bits in restored.images:
        np.testing.assert_array_equal(bits, images[i])


def test_truncated_archive_keeps_its_first_segments(archive, model, images) -> None:
    cut = archive[:_segment_at(archive, 2) + 5]
    restored = segments.decompress(cut, model, keep_going=True)
    assert [i for i, _, _ in restored.images] == [0, 1, 2]
    assert [i for item in restored.lost for i in item.images] == [3, 4]
    with pytest.raises(FormatError, match="truncated"):
        segments.decompress(cut, model)


def test_every_index_byte_is_checked(archive, model) -> None:
    index_end = 56 + int.from_bytes(archive[48:52], "little")
    for at in range(index_end):
        damaged = bytearray(archive)
        damaged[at] ^= 0x01
        with pytest.raises(FormatError):
            segments.decompress(bytes(damaged), model, keep_going=True)
    with pytest.raises(FormatError, match="after the last segment"):
        segments.decompress(archive + b"\0", model)
    for cut in (5, 40, 53, index_end - 1):
        with pytest.raises(FormatError, match="truncated"):
            segments.decompress(archive[:cut], model, keep_going=True)


def _with_index(archive: bytes, change) -> bytes:
    """The archive with its index entries (coder, count, lead-in, size) passed through ``change``,
    behind a valid index checksum."""
    size = int.from_bytes(archive[48:52], "little")
    entries = [[s.coder, s.count, int(s.lead_in), len(s.data) - segments.SHARED] for s in segments.segments(archive)]
    change(entries)
    index = container.varint(len(entries)) + b"".join(container.varint(v) for entry in entries for v in entry)
    head = archive[:48] + len(index).to_bytes(4, "little") + index
    return head + zlib.crc32(head).to_bytes(4, "little") + archive[52 + size + 4:]


def test_index_that_disagrees_with_its_segment(archive, model) -> None:
    """An index rewritten behind a valid checksum (a count or lead-in that its segment contradicts)
    is damage in that segment, never a wrong image."""
    assert _with_index(archive, lambda entries: None) == archive

    def three_small_images(entries):   # segment 2 holds two
        entries[1][1] = 3

    def no_lead_in(entries):           # segment 1 has one
        entries[0][2] = 0

    for change, where in ((three_small_images, "segment 2 of 4"), (no_lead_in, "segment 1 of 4")):
        with pytest.raises(FormatError, match=where):
            segments.decompress(_with_index(archive, change), model)


def test_index_claiming_too_many_images(archive, model) -> None:
    """A segment holds one page or small images within SEGMENT_PIXELS, so an index that claims more
    (behind a valid checksum) is refused before anything is listed or allocated for them."""
    def many(entries):
        entries[1][1] = segments.SEGMENT_PIXELS + 1

    def two_pages(entries):
        entries[0][1] = 2

    def coder_beyond_a_byte(entries):
        entries[2][0] = 300

    with pytest.raises(FormatError, match="damaged .darn index"):
        segments.decompress(_with_index(archive, coder_beyond_a_byte), model, keep_going=True)
    for change in (many, two_pages):
        with pytest.raises(FormatError, match="claims"):
            segments.decompress(_with_index(archive, change), model, keep_going=True)


def test_version_one_archives_read_as_one_segment(model, images) -> None:
    data = codec.compress(images, model)
    (segment,) = segments.segments(data)
    assert segment.data is data and segment.count == 5
    restored = segments.decompress(data, model, pages=[4])
    np.testing.assert_array_equal(restored.images[0][2], images[4])
    future = bytearray(data)
    future[4] = 3
    with pytest.raises(FormatError, match="version 3 needs a newer darncodec"):
        segments.decompress(bytes(future), model)


def test_same_bytes_on_any_executor(archive, model, images, tiny_model_path) -> None:
    """Workers get a reference to the model (its path and hash) and code segments on their own, so
    the archive does not depend on where, or in which order, segments are coded."""
    with ThreadPoolExecutor(3) as pool:
        data = segments.compress(images, str(tiny_model_path), [f"im{i}" for i in range(5)], executor=pool)
        restored = segments.decompress(archive, str(tiny_model_path), executor=pool)
    assert data == archive
    assert [i for i, _, _ in restored.images] == list(range(5))


def test_golden_version_two_archive() -> None:
    """The version-2 golden archive (embedded documents model: a segment of two small images, coded
    statically, then a page after its lead-in, coded adaptively) decodes; its segments' coders are
    written byte for byte when asked for (the defaults have moved on: particles for small images)."""
    data = (GOLDEN / "set-docs-v2.darn").read_bytes()
    expected = golden_images()
    restored = segments.decompress(data)
    assert [name for _, name, _ in restored.images] == [name for name, _ in expected]
    for (_, _, bits), (_, want) in zip(restored.images, expected, strict=True):
        np.testing.assert_array_equal(bits, want)
    assert [(s.count, s.lead_in, s.coder) for s in segments.segments(data)] == [(2, False, 1), (1, True, 3)]
    found = segments.segments(data)
    small = codec.compress([b for _, b in expected[:2]], names=[n for n, _ in expected[:2]], coding="static")
    assert small == found[0].data
    page = codec.compress([segments.LEAD_IN, expected[2][1]], names=["", expected[2][0]], coding="adaptive")
    assert page == found[1].data


def golden_images() -> list[tuple[str, np.ndarray]]:
    """text.png, digit.png and a page of text.png repeated 7 x 2 times (560 x 600 pixels, 90 tiles)."""
    (_, text), = read_bilevel(SAMPLES / "text.png")
    (_, digit), = read_bilevel(SAMPLES / "digit.png")
    return [("text.png", text), ("digit.png", digit), ("page.png", np.tile(text, (7, 2)))]


@pytest.mark.parametrize("name", ["text-docs-v1-static.darn", "digit-mnist-v1-static.darn", "text-docs-adaptive.darn"])
def test_golden_version_one_archives_read_as_one_segment(name) -> None:
    data = (GOLDEN / name).read_bytes()
    restored = segments.decompress(data)
    expected = codec.decompress(data)
    assert [(n, b.tolist()) for _, n, b in restored.images] == [(n, b.tolist()) for n, b in expected]
    assert segments.image_costs(data) == pytest.approx(codec.image_costs(data))
