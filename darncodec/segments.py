"""Format version 2: an archive as an index and independent segments (docs/format.md, "Version 2").

Each segment is a stand-alone version-1 archive (darncodec.codec: its own header, checksums and ANS
stack) that the version-2 file stores without the 48 header bytes every segment shares; so any coder
id works inside a segment, a reader seeks to the segment of one image, damage stays in its segment,
and segments are coded and decoded in parallel on any concurrent.futures executor (darncodec.parallel,
darncodec.cluster). The output never depends on the executor: each segment is coded on its own.
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from darncodec import codec
from darncodec.coding import container
from darncodec.coding.limits import DEFAULT_LIMITS, Limits
from darncodec.coding.stored import STORED_BATCH, STORED_HASH, STORED_TILE
from darncodec.coding.tiling import GROUP_TILES, tile_grid
from darncodec.errors import DarnError, FormatError, InputError, ModelError
from darncodec.zoo import ModelFile, find_by_hash, load_model_file

VERSION = 2
SHARED = 48                      # bytes 0-47 of a segment's version-1 header, held once in the file header
SEGMENT_PIXELS = 1 << 22         # small images are grouped into segments of up to this many pixels
                                 # (benchmarks/segment_cost.py: 2 segments for the 10,000 MNIST test digits)
_INDEX_AT = struct.Struct("<I")  # the index length I, at offset 48
LEAD_IN = np.zeros((1, 1), np.uint8)   # a page segment's first image (see plan / docs/format.md)


@dataclass(frozen=True)
class ModelRef:
    """A model as a worker process or another machine finds it: the user's name or path (None: an
    embedded model found by hash) and the content hash it must have."""

    spec: str | None
    hash: str


@dataclass(frozen=True)
class Segment:
    """One entry of the index and the version-1 archive it stands for (a truncated file cuts it)."""

    number: int
    first: int        # archive index of its first image (the lead-in not counted)
    count: int        # its images, the lead-in not counted
    coder: int
    lead_in: bool
    data: bytes

    @property
    def images(self) -> range:
        return range(self.first, self.first + self.count)

    @property
    def which(self) -> str:
        """Its images as a user counts them: 'image 3', 'images 4-9' or 'no images'."""
        first, last = self.first + 1, self.first + self.count
        return f"image {first}" if self.count == 1 else f"images {first}-{last}" if self.count else "no images"

    def describe(self, total: int) -> str:
        return f"segment {self.number + 1} of {total} ({self.which})"


@dataclass(frozen=True)
class Lost:
    images: range     # archive indices of the images lost, from 0
    reason: str


@dataclass
class Restored:
    """What decompress gives back: (archive index, name, image) of every restored image, and the
    images lost to damage (only with keep_going; otherwise damage raises)."""

    images: list[tuple[int, str, np.ndarray]]
    lost: list[Lost]
    total: int        # images in the archive


# ------------------------------------------------------------------------------------------ writing


def plan(shapes: Sequence[tuple[int, int]], tile: tuple[int, int]) -> list[list[int]]:
    """The images (indices) of each segment: an image of at least GROUP_TILES tiles (a page) is a
    segment of its own; a run of smaller images shares one, up to SEGMENT_PIXELS pixels."""
    segments: list[list[int]] = []
    pixels = 0
    for index, (height, width) in enumerate(shapes):
        small = _tiles(height, width, tile) < GROUP_TILES
        if small and segments and pixels and pixels + height * width <= SEGMENT_PIXELS:
            segments[-1].append(index)
            pixels += height * width
        else:
            segments.append([index])
            pixels = height * width if small else 0
    return segments or [[]]


def _tiles(height: int, width: int, tile: tuple[int, int]) -> int:
    rows, cols = tile_grid(height, width, *tile)
    return rows * cols


def wants_lead_in(model: codec.CodingModel, coding: str | None, shapes: Sequence[tuple[int, int]]) -> bool:
    """A page coded adaptively gets a 1x1 white lead-in image before it: a version-1 archive codes its
    first group in doubling batches (so that bits back finds bits), which cuts a page at a dozen batch
    borders; after the lead-in the page is the second group, coded in batches of max_batch tiles, as a
    page after the first is in a chained archive (benchmarks/segment_cost.py measures the difference)."""
    page = len(shapes) == 1 and _tiles(*shapes[0], model.tile) >= GROUP_TILES
    return page and model.can_adapt and coding != "static"


def compress(images: Sequence[np.ndarray], model: str | ModelFile | codec.CodingModel | ModelRef | None = None,
             names: Sequence[str] | None = None, device: str = "cpu", coding: str | None = None,
             max_batch: int = codec.MAX_BATCH, executor: Executor | None = None, options: dict | None = None) -> bytes:
    """One version-2 archive of ``images`` (arguments as codec.compress, ``options`` its keyword
    arguments particles, glyph_model, limits, progress); segments are coded on ``executor`` (None:
    here, one after the other)."""
    return compress_many([(images, names)], model, device, coding, max_batch, executor, options)[0]


def compress_many(archives: Sequence[tuple[Sequence[np.ndarray], Sequence[str] | None]],
                  model: str | ModelFile | codec.CodingModel | ModelRef | None = None, device: str = "cpu",
                  coding: str | None = None, max_batch: int = codec.MAX_BATCH,
                  executor: Executor | None = None, options: dict | None = None) -> list[bytes]:
    """A version-2 archive for each (images, names), every segment of every archive one task
    (``options``: codec.compress's keyword arguments particles, glyph_model, limits, progress)."""
    chosen = coding_model(model, device)
    sent = chosen if executor is None else reference(model, chosen)
    tasks, layout = [], []
    for images, names in archives:
        names = list(names) if names is not None else [f"image{i}" for i in range(len(images))]
        if len(names) != len(images):
            raise InputError(f"{len(names)} names for {len(images)} images")
        shapes = [_shape(bits, name) for bits, name in zip(images, names)]
        for part in plan(shapes, chosen.tile):
            lead_in = wants_lead_in(chosen, coding, [shapes[i] for i in part])
            tasks.append((sent, [images[i] for i in part], [names[i] for i in part], device, coding, max_batch,
                          lead_in, options or {}))
            layout.append((len(part), lead_in))
        layout.append(None)   # end of this archive
    coded = iter(_map(executor, _compress_segment, tasks))
    archives_out, current = [], []
    for entry in layout:
        if entry is None:
            archives_out.append(_assemble(current))
            current = []
        else:
            current.append((*entry, next(coded)))
    return archives_out


def _shape(bits: np.ndarray, name: str) -> tuple[int, int]:
    """The size of an image, which must be 2-D and not empty (codec.compress checks its pixels)."""
    shape = np.shape(bits)
    if len(shape) != 2 or min(shape) < 1:
        raise InputError(f"{name}: expected a non-empty 2-D image, got shape {shape}")
    return shape


def _compress_segment(task) -> bytes:
    model, images, names, device, coding, max_batch, lead_in, options = task
    if lead_in:
        images, names = [LEAD_IN, *images], ["", *names]
    return codec.compress(images, coding_model(model, device), names, device, max_batch, coding=coding, **options)


def _assemble(parts: list[tuple[int, bool, bytes]]) -> bytes:
    """The version-2 file of the segments' version-1 archives (count, lead-in, archive)."""
    coded = [data for _, _, data in parts if data[5] != container.CODER_STORED]
    shared = (coded or [parts[0][2]])[0][:SHARED]
    index = [container.varint(len(parts))]
    for count, lead_in, data in parts:
        if data[6:SHARED] != (_stored_fields(data) if data[5] == container.CODER_STORED else shared[6:]):
            raise AssertionError("segments of one archive must share model, tile and max_batch")
        index += [container.varint(data[5]), container.varint(count), container.varint(int(lead_in)),
                  container.varint(len(data) - SHARED)]
    table = b"".join(index)
    head = shared[:4] + bytes([VERSION, 0]) + shared[6:] + _INDEX_AT.pack(len(table)) + table
    return head + struct.pack("<I", zlib.crc32(head)) + b"".join(data[SHARED:] for _, _, data in parts)


# ------------------------------------------------------------------------------------------ reading


def segments(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[Segment]:
    """The segments of an archive of version 1 (one segment: the file) or 2, from its index; the
    segments themselves are checked only when decoded (so damage in one spares the others)."""
    if len(data) < 4 or data[:4] != container.MAGIC or len(data) == 4 or data[4] == container.VERSION:
        header = container.unpack(data, limits)[0]   # version 1 (or not a .darn file): the reader of version 1 judges
        return [Segment(0, 0, len(header.images), header.coder, False, data)]
    if data[4] != VERSION:
        newer = "a newer darncodec" if data[4] > VERSION else "an unknown format version"
        raise FormatError(f"format version {data[4]} needs {newer} (this one reads versions 1 and {VERSION})")
    if len(data) < SHARED + _INDEX_AT.size:
        raise FormatError("truncated .darn file (header cut short)")
    index_size = _INDEX_AT.unpack_from(data, SHARED)[0]
    crc_at = SHARED + _INDEX_AT.size + index_size
    if len(data) < crc_at + 4:
        raise FormatError("truncated .darn file (index cut short)")
    if zlib.crc32(data[:crc_at]) != struct.unpack_from("<I", data, crc_at)[0]:
        raise FormatError("damaged .darn index (checksum mismatch)")
    try:
        entries = _read_index(data[SHARED + _INDEX_AT.size:crc_at])
    except (IndexError, ValueError):
        raise FormatError("damaged .darn index") from None
    if data[5] != 0:
        raise FormatError("damaged .darn index (byte 5 is not 0)")
    found, offset, first = [], crc_at + 4, 0
    template = data[:4] + bytes([container.VERSION])
    for number, (coder, count, lead_in, size) in enumerate(entries):
        if count > (1 if lead_in else SEGMENT_PIXELS):   # a segment holds a page, or small images within its budget
            raise FormatError(f"damaged .darn index (segment {number + 1} claims {count} images)")
        fields = _stored_fields(data) if coder == container.CODER_STORED else data[6:SHARED]
        found.append(Segment(number, first, count, coder, lead_in,
                             template + bytes([coder]) + fields + data[offset:offset + size]))
        offset, first = offset + size, first + count
    if len(data) > offset:
        raise FormatError(f"damaged .darn file ({len(data) - offset} bytes after the last segment)")
    return found


def _stored_fields(data: bytes) -> bytes:
    """Bytes 6 to SHARED of a stored segment's header (coder 6: no model, tile 1 x 1, max_batch 1),
    which it does not share with the archive's coded segments."""
    return data[6:8] + bytes.fromhex(STORED_HASH) + struct.pack("<HHI", *STORED_TILE, STORED_BATCH)


def _read_index(index: bytes) -> list[tuple[int, int, bool, int]]:
    reader = container.VarintReader(index)
    entries = [(reader.varint(), reader.varint(), reader.varint(), reader.varint()) for _ in range(reader.varint())]
    if reader.offset != len(index) or not entries or \
            any(coder > 255 or lead_in > 1 for coder, _, lead_in, _ in entries):
        raise ValueError("not an index")
    return [(coder, count, bool(lead_in), size) for coder, count, lead_in, size in entries]


def decompress(data: bytes, model: str | ModelFile | codec.CodingModel | None = None, device: str = "cpu",
               pages: Iterable[int | range] | None = None, keep_going: bool = False,
               executor: Executor | None = None, options: dict | None = None) -> Restored:
    """Restore the images of an archive (version 1 or 2), or only those whose archive index (from 0)
    is in ``pages``, decoding only their segments. Damage in a segment raises a FormatError naming it;
    with ``keep_going`` its images are reported lost and the other segments still restored."""
    result = decompress_many([data], model, device, pages, keep_going, executor, options)[0]
    if isinstance(result, DarnError):
        raise result
    return result


def decompress_many(archives: Sequence[bytes], model: str | ModelFile | codec.CodingModel | None = None,
                    device: str = "cpu", pages: Iterable[int | range] | None = None, keep_going: bool = False,
                    executor: Executor | None = None, options: dict | None = None) -> list[Restored | DarnError]:
    """decompress for each archive (decompress_stream, gathered): an archive that cannot be read (or,
    without keep_going, has a damaged segment) gives its error in its place."""
    results: list[Restored | DarnError] = []
    for restoring in decompress_stream(plan_restore(archives, model, device, pages, options), executor):
        if isinstance(restoring, DarnError):
            results.append(restoring)
            continue
        whole = Restored([], [], restoring.total)
        for part in restoring.parts:
            whole.images += part.images
            whole.lost += part.lost
        results.append(FormatError(whole.lost[0].reason) if whole.lost and not keep_going else whole)
    return results


@dataclass
class Restoring:
    """An archive being restored (decompress_stream): what it holds and what will be restored, known
    from its index and segment headers before anything is decoded, and ``parts``, the outcome of each
    needed segment in archive order as soon as it and the segments before it are decoded (a Restored
    with that segment's images, or with its images lost and why)."""

    total: int                        # images in the archive
    asked: int                        # images asked for
    expected: list[tuple[int, str]]   # (archive index, name) of each image asked for in a segment whose header reads
    parts: Iterator[Restored]


@dataclass
class _Archive:
    """What plan_restore found in one archive: the segments to decode and the model they need."""

    needed: list[Segment]
    count: int                        # segments in the archive
    total: int                        # images in the archive
    expected: list[tuple[int, str]]
    pixels: int                       # of the images asked for, from their segments' headers
    chosen: codec.CodingModel


@dataclass
class RestorePlan:
    """What decompress_stream will do, found from the archives' indexes and segment headers alone:
    each archive's segments to decode (or the DarnError of one that cannot be read). ``tasks`` and
    ``pixels`` size the workers (darncodec.parallel)."""

    archives: list[_Archive | DarnError]
    wanted: _Pages
    model: str | ModelFile | codec.CodingModel | ModelRef | None
    device: str
    options: dict

    @property
    def tasks(self) -> int:
        return sum(len(item.needed) for item in self.archives if isinstance(item, _Archive))

    @property
    def pixels(self) -> int:
        return sum(item.pixels for item in self.archives if isinstance(item, _Archive))


def plan_restore(archives: Sequence[bytes], model: str | ModelFile | codec.CodingModel | ModelRef | None = None,
                 device: str = "cpu", pages: Iterable[int | range] | None = None,
                 options: dict | None = None) -> RestorePlan:
    """Read each archive's index and the headers of the segments that hold the images asked for
    (``pages``, archive indices from 0; None: all) and find its model. ``options``: codec.decompress's
    keyword arguments glyph_model and limits."""
    wanted, options = _Pages(pages), options or {}
    found_archives: list[_Archive | DarnError] = []
    for data in archives:
        try:
            found = segments(data)
            total = sum(s.count for s in found)
            if wanted.last >= total:
                raise InputError(f"no image {wanted.last + 1}: the archive holds {total}")
            needed = [s for s in found if wanted.within(s.images)]
            chosen = _model_for(found, coding_model(model, device) if isinstance(model, ModelRef) else model, device)
        except DarnError as err:
            found_archives.append(err)
            continue
        expected, pixels = _expected(needed, wanted, options.get("limits", DEFAULT_LIMITS))
        found_archives.append(_Archive(needed, len(found), total, expected, pixels, chosen))
    return RestorePlan(found_archives, wanted, model, device, options)


def decompress_stream(plan: RestorePlan, executor: Executor | None = None) -> Iterator[Restoring | DarnError]:
    """A Restoring (or the DarnError of an archive that cannot be read) for each archive of ``plan``
    in turn, every needed segment of every archive submitted to ``executor`` at once, so that a
    caller writes the images of one segment while later ones decode. An archive's parts not read
    before the next archive is asked for are read (and dropped) then."""
    tasks = []
    for item in plan.archives:
        if isinstance(item, _Archive):
            sent = item.chosen if executor is None else reference(plan.model, item.chosen)
            tasks += [(sent, s.data, plan.device, plan.options) for s in item.needed]
    decoded = iter(_map(executor, _decompress_segment, tasks))
    for item in plan.archives:
        if isinstance(item, DarnError):
            yield item
            continue
        parts = _parts(item.needed, item.count, item.total, plan.wanted, decoded)
        asked = sum(len(part) for s in item.needed for part in plan.wanted.within(s.images))
        yield Restoring(item.total, asked, item.expected, parts)
        for _ in parts:   # what the caller left unread
            pass


def _expected(needed: list[Segment], wanted: _Pages, limits: Limits) -> tuple[list[tuple[int, str]], int]:
    """(archive index, name) of the images asked for, from the headers of their segments, and their
    pixels (a segment whose header does not read is left out: its damage is reported when it is
    decoded)."""
    expected, pixels = [], 0
    for segment in needed:
        try:
            entries = codec.read_header(segment.data, limits).images[int(segment.lead_in):]
        except FormatError:
            continue
        asked = [(i, entry) for i, entry in zip(segment.images, entries) if i in wanted]
        expected += [(i, entry.name) for i, entry in asked]
        pixels += sum(entry.height * entry.width for _, entry in asked)
    return expected, pixels


def _parts(needed: list[Segment], count: int, total: int, wanted: _Pages,
           decoded: Iterator) -> Iterator[Restored]:
    for segment in needed:
        outcome = _check_segment(segment, next(decoded))
        if isinstance(outcome, FormatError):
            reason = f"{segment.describe(count)}: {outcome}"
            yield Restored([], [Lost(part, reason) for part in wanted.within(segment.images)], total)
            continue
        yield Restored([(i, name, bits) for i, (name, bits) in zip(segment.images, outcome)
                        if i in wanted], [], total)


class _Pages:
    """Archive indices given as numbers or ranges (a range of a million images costs no memory);
    None: every image (``last`` -1: none is named)."""

    def __init__(self, pages: Iterable[int | range] | None) -> None:
        self.ranges = [range(sys.maxsize)] if pages is None else \
            [p if isinstance(p, range) else range(p, p + 1) for p in pages]
        self.last = -1 if pages is None else max((r[-1] for r in self.ranges if r), default=-1)

    def __contains__(self, index: int) -> bool:
        return any(index in r for r in self.ranges)

    def within(self, images: range) -> list[range]:
        """The parts of ``images`` (a step-1 range) that are asked for."""
        parts = (range(max(r.start, images.start), min(r.stop, images.stop)) for r in self.ranges)
        return [part for part in parts if part]


def _decompress_segment(task) -> list[tuple[str, tuple[int, int], np.ndarray]] | FormatError:
    """A segment's images, each as (name, shape, its pixels packed 8 to a byte: what travels back
    from a worker or a cluster is an eighth of the image), or the FormatError that its damage gives
    (returned, so that the others go on)."""
    model, data, device, options = task
    try:
        images = codec.decompress(data, coding_model(model, device), device, **options)
    except FormatError as err:
        return err
    return [(name, bits.shape, np.packbits(bits, axis=None)) for name, bits in images]


def _check_segment(segment: Segment, outcome) -> list[tuple[str, np.ndarray]] | FormatError:
    """The segment's images (unpacked) without its lead-in, or why they cannot be trusted: a segment
    whose image count or lead-in disagrees with the index is damage."""
    if isinstance(outcome, FormatError):
        return outcome
    outcome = [(name, np.unpackbits(packed, count=shape[0] * shape[1]).reshape(shape))
               for name, shape, packed in outcome]
    if segment.lead_in:
        if not outcome or outcome[0][0] != "" or not np.array_equal(outcome[0][1], LEAD_IN):
            return FormatError("damaged .darn segment (no lead-in image)")
        outcome = outcome[1:]
    if len(outcome) != segment.count:
        return FormatError(f"damaged .darn segment ({len(outcome)} images, the index says {segment.count})")
    return outcome


# ------------------------------------------------------------------------------------------ models


def _model_for(found: list[Segment], model, device: str) -> codec.CodingModel:
    """The model that decodes an archive, checked against the hash and tile that every coded segment
    shares (bytes 8-43, held once in a version-2 file and covered by its index checksum); an archive
    of stored segments alone needs none (the default model stands in)."""
    coded = [segment for segment in found if segment.coder != container.CODER_STORED]
    if not coded:
        return coding_model(model, device)
    segment = coded[0]
    if len(segment.data) < SHARED:
        raise FormatError("truncated .darn file (header cut short)")
    model_hash, tile_h, tile_w, max_batch = struct.unpack_from("<32sHHI", segment.data, 8)
    return codec.model_for(container.Header(model_hash.hex(), (tile_h, tile_w), max_batch), model, device)


def reference(model, chosen: codec.CodingModel) -> ModelRef:
    """What to send to workers instead of the model: an embedded model is found by its hash on any
    machine; any other is loaded from the name or path it was given (which the workers must see too)."""
    if isinstance(model, ModelRef):
        return model
    if find_by_hash(chosen.file.hash) is not None:
        return ModelRef(None, chosen.file.hash)
    return ModelRef(model if isinstance(model, str) else chosen.file.source, chosen.file.hash)


def coding_model(model: str | ModelFile | codec.CodingModel | ModelRef | None, device: str) -> codec.CodingModel:
    """codec.coding_model, and a ModelRef loaded once per process."""
    if isinstance(model, codec.CodingModel):
        return model
    return _loaded(model, device) if isinstance(model, ModelRef) else codec.coding_model(model, device)


@lru_cache(maxsize=4)
def _loaded(ref: ModelRef, device: str) -> codec.CodingModel:
    file = find_by_hash(ref.hash) if ref.spec is None else load_model_file(ref.spec)
    if file is None or file.hash != ref.hash:
        raise ModelError(f"{ref.spec or 'embedded models'}: no model with hash {ref.hash[:16]}... here")
    return codec.coding_model(file, device)


def _map(executor: Executor | None, function: Callable, tasks: list) -> Iterable:
    return map(function, tasks) if executor is None or len(tasks) < 2 else executor.map(function, tasks)


# ------------------------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class SegmentInfo:
    segment: Segment
    header: container.Header     # its version-1 header, the lead-in left out of its images
    payload_bytes: int


def describe(data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[SegmentInfo]:
    """Every segment with its checked version-1 header (any damage raises, naming the segment)."""
    found = segments(data, limits)
    infos = []
    for segment in found:
        try:
            header = codec.read_header(segment.data, limits)
        except FormatError as err:
            raise FormatError(f"{segment.describe(len(found))}: {err}") from None
        if segment.lead_in:
            header.images = header.images[1:]
        infos.append(SegmentInfo(segment, header, codec.payload_bytes(segment.data)))
    return infos


def payload_bytes(data: bytes) -> int:
    """Bytes of the ANS payloads alone; the rest of the file is the container's."""
    return sum(info.payload_bytes for info in describe(data))


def image_costs(data: bytes, model: str | ModelFile | codec.CodingModel | None = None,
                device: str = "cpu", **options) -> list[float]:
    """Each image's bits (codec.image_costs per segment, ``options`` its glyph_model and limits; a
    lead-in's bits are its segment's container)."""
    found = segments(data)
    chosen = _model_for(found, model, device)
    return [bits for segment in found
            for bits in codec.image_costs(segment.data, chosen, device, **options)[int(segment.lead_in):]]
