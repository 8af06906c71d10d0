"""The .darn container (specified in docs/format.md). All fixed-size integers little-endian.

    offset  size  field
    0       4     magic b"DARN"
    4       1     format version (1)
    5       1     coder id: constriction AnsCoder, 32-bit words, Bernoulli perfect=False, with p(x|h)
                  1: the DARN's table probabilities, 2: after page-adaptive mixing tile position by
                  tile position (coding.mixing.tiled), 3: after page-adaptive mixing in page raster order
                  (coding.mixing.raster), 5: Monte Carlo bits-back with S particles (coding.particles),
                  6: stored, the raw bits (coding.stored)
    6       1     coder precision in bits (24)
    7       1     constriction major.minor (high nibble major, low nibble minor: 0x05 for 0.5)
    8       32    sha256 content hash of the model
    40      2     tile height      42  2  tile width
    44      4     largest batch of tiles
    48      4     length T of the image table
    (52     32    coder 4 only: sha256 content hash of the dictionary model; the offsets below move by 32)
    (52     2     coder 5 only: S, the most particles per tile (u16); the fields below move 2 bytes on)
    52      T     image table: one byte saying how the rest is stored (0 raw, 1 zlib, 2 xz), then the
                  number of images and per image: how many leading bytes its name shares with the
                  previous name, the length of the rest, the rest (UTF-8), height, width; all
                  integers unsigned LEB128
    52+T    8     number W of 32-bit payload words
            4     CRC-32 of the payload
            4     CRC-32 of the pixels of every image (np.packbits of each row-major 0/1 array, 1 = ink,
                  chained in order)
            4     CRC-32 of every header byte before this field
    then    4W    payload: the AnsCoder's words
"""

from __future__ import annotations

import lzma
import os
import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from darncodec.coding.limits import DEFAULT_LIMITS, Limits, coded_pixels, inflate
from darncodec.coding.stored import STORED_BATCH, STORED_HASH, STORED_TILE
from darncodec.errors import FormatError

MAGIC = b"DARN"
VERSION = 1
CODER_STATIC, CODER_TILED, CODER_RASTER, CODER_SYMBOLS, CODER_PARTICLES = 1, 2, 3, 4, 5
CODER_STORED = 6   # the images' raw bits, no model (coding.stored)
CODER_STROKES = 7  # coder 3 with the stroke models (coding.mixing.strokes)
CODINGS = {CODER_STATIC: "static", CODER_TILED: "adaptive-tiles", CODER_RASTER: "adaptive",
           CODER_SYMBOLS: "symbols", CODER_PARTICLES: "particles", CODER_STORED: "stored",
           CODER_STROKES: "strokes"}   # names users see
MAX_PARTICLES = 1024   # coder 5's largest S (keeps every sum of integer weights below 2**34)
PRECISION = 24
CONSTRICTION_VERSION = 0x05
_FIXED = struct.Struct("<4sBBBB32sHHII")
_TRAILER = struct.Struct("<QIII")
_PARTICLES = struct.Struct("<H")


@dataclass
class ImageEntry:
    name: str
    height: int
    width: int


@dataclass
class Header:
    model_hash: str
    tile: tuple[int, int]
    max_batch: int
    images: list[ImageEntry] = field(default_factory=list)
    pixel_crc: int = 0
    coder: int = CODER_STATIC
    dictionary_hash: str = ""   # coder 4: the model that codes the pages' dictionaries (may be model_hash)
    particles: int = 1            # coder 5: S, the most particles per tile

    @property
    def coding(self) -> str:
        return CODINGS[self.coder]

    @property
    def adaptive(self) -> bool:
        return self.coder in (CODER_TILED, CODER_RASTER, CODER_SYMBOLS, CODER_STROKES)

    @property
    def needs_model(self) -> bool:
        return self.coder != CODER_STORED


def _coder_fields(coder: int) -> int:
    """Bytes of the coder's own header fields after the fixed header (coder 4: the dictionary model's
    hash; coder 5: S)."""
    return {CODER_SYMBOLS: 32, CODER_PARTICLES: _PARTICLES.size}.get(coder, 0)


def pixel_crc(images: list[np.ndarray]) -> int:
    crc = 0
    for bits in images:
        crc = zlib.crc32(np.packbits(np.asarray(bits, np.uint8), axis=None).tobytes(), crc)
    return crc


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


class VarintReader:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def varint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.data[self.offset]
            self.offset += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value
            if shift >= 64:  # a longer varint is no size darncodec writes (and would cost quadratic time)
                raise IndexError("varint longer than 64 bits")

    def left(self) -> int:
        return len(self.data) - self.offset

    def take(self, n: int) -> bytes:
        if self.offset + n > len(self.data):
            raise IndexError
        chunk = self.data[self.offset:self.offset + n]
        self.offset += n
        return chunk


def _image_table(images: list[ImageEntry]) -> bytes:
    """Names front-coded (bytes shared with the previous name, then the rest), sizes; stored raw,
    zlib- or xz-compressed, whichever is smallest (first byte: 0, 1 or 2)."""
    parts, previous = [varint(len(images))], b""
    for image in images:
        name = image.name.encode("utf-8", "replace")  # a file name Python could not decode keeps a '?'
        shared = len(os.path.commonprefix([previous, name]))
        parts += [varint(shared), varint(len(name) - shared), name[shared:],
                  varint(image.height), varint(image.width)]
        previous = name
    raw = b"".join(parts)
    return min((bytes([0]) + raw, bytes([1]) + zlib.compress(raw, 9),
                bytes([2]) + lzma.compress(raw, preset=9 | lzma.PRESET_EXTREME)), key=len)


_ENTRY_BYTES = 4   # the fewest bytes an image takes in the table: S, L, height, width (one byte each)


def _read_image_table(table: bytes, limits: Limits, tile: tuple[int, int]) -> list[ImageEntry]:
    """The images of the table, each held to ``limits`` as soon as it is read."""
    if not table:
        raise IndexError("empty image table")
    reader = VarintReader(inflate(table[0], table[1:], limits.max_table_bytes))
    count = reader.varint()
    limits.check_count(count)
    if count * _ENTRY_BYTES > reader.left():
        raise IndexError("the table is too short for the images it claims")
    images, previous, coded = [], b"", 0
    for _ in range(count):
        shared = reader.varint()
        if shared > len(previous):
            raise IndexError("name shares more bytes than the previous name has")
        name = previous[:shared] + reader.take(reader.varint())
        images.append(ImageEntry(name.decode("utf-8"), reader.varint(), reader.varint()))
        limits.check_image(images[-1].height, images[-1].width, f"image {len(images) - 1} ({images[-1].name})")
        coded += coded_pixels(images[-1].height, images[-1].width, tile)
        limits.check_coded(coded, tile)
        previous = name
    if reader.offset != len(reader.data):
        raise IndexError("bytes left over in the image table")
    return images


def pack(header: Header, words: np.ndarray) -> bytes:
    table = _image_table(header.images)
    payload = np.asarray(words, dtype="<u4").tobytes()
    head = _FIXED.pack(MAGIC, VERSION, header.coder, PRECISION, CONSTRICTION_VERSION,
                       bytes.fromhex(header.model_hash), *header.tile, header.max_batch, len(table))
    if header.coder == CODER_SYMBOLS:
        head += bytes.fromhex(header.dictionary_hash)
    elif header.coder == CODER_PARTICLES:
        head += _PARTICLES.pack(header.particles)
    head += table
    head += struct.pack("<QII", len(payload) // 4, zlib.crc32(payload), header.pixel_crc)
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def unpack(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[Header, np.ndarray]:
    """Parse and check a container; every problem is a FormatError with one line of reason, and a
    claim beyond ``limits`` a LimitError (a FormatError), raised before anything is allocated for it."""
    if len(data) < 4 or data[:4] != MAGIC:
        raise FormatError("not a .darn file (bad magic bytes)")
    if len(data) > 4 and data[4] != VERSION:  # judged first: a newer format may change everything after it
        version = data[4]
        newer = "a newer darncodec" if version > VERSION else "an unknown format version"
        raise FormatError(f"format version {version} needs {newer} (this one reads version {VERSION})")
    if len(data) < _FIXED.size:
        raise FormatError("truncated .darn file (header cut short)")
    _, _, coder, precision, cversion, model_hash, th, tw, max_batch, table_size = _FIXED.unpack_from(data)
    if coder not in CODINGS or (precision, cversion >> 4) != (PRECISION, CONSTRICTION_VERSION >> 4):
        raise FormatError(f"coder settings {coder}/{precision}/{cversion:#x} are not supported")
    table_at = _FIXED.size + _coder_fields(coder)
    trailer_at = table_at + table_size
    if len(data) < trailer_at + _TRAILER.size:
        raise FormatError("truncated .darn file (header cut short)")
    n_words, payload_crc, pixels_crc, header_crc = _TRAILER.unpack_from(data, trailer_at)
    if zlib.crc32(data[: trailer_at + 16]) != header_crc:
        raise FormatError("damaged .darn header (checksum mismatch)")
    try:
        images = _read_image_table(data[table_at:trailer_at], limits, (max(th, 1), max(tw, 1)))
    except (IndexError, UnicodeDecodeError):
        raise FormatError("damaged .darn image table") from None
    payload = data[trailer_at + _TRAILER.size:]
    if len(payload) < 4 * n_words:
        raise FormatError(f"truncated .darn file (payload has {len(payload)} of {4 * n_words} bytes)")
    if len(payload) > 4 * n_words:
        raise FormatError(f"damaged .darn file ({len(payload) - 4 * n_words} bytes after the payload)")
    if zlib.crc32(payload) != payload_crc:
        raise FormatError("damaged .darn payload (checksum mismatch)")
    if min(th, tw, max_batch) < 1 or any(min(i.height, i.width) < 1 for i in images):
        raise FormatError("damaged .darn header (zero size)")
    if coder == CODER_STORED and (model_hash.hex(), (th, tw), max_batch) != (STORED_HASH, STORED_TILE, STORED_BATCH):
        raise FormatError("damaged .darn header (a stored archive names a model)")
    particles = _PARTICLES.unpack_from(data, _FIXED.size)[0] if coder == CODER_PARTICLES else 1
    if not 1 <= particles <= MAX_PARTICLES:
        raise FormatError(f"damaged .darn header ({particles} particles; 1 to {MAX_PARTICLES} are allowed)")
    dictionary = data[_FIXED.size:table_at].hex() if coder == CODER_SYMBOLS else ""
    header = Header(model_hash.hex(), (th, tw), max_batch, images, pixels_crc, coder, dictionary, particles)
    return header, np.frombuffer(payload, dtype="<u4").astype(np.uint32)


def header_size(data: bytes) -> int:
    """Bytes before the payload (the container's overhead)."""
    if len(data) < _FIXED.size or data[:4] != MAGIC:
        raise FormatError("not a .darn file (bad magic bytes or header cut short)")
    fields = _FIXED.unpack_from(data)
    return _FIXED.size + _coder_fields(fields[2]) + fields[-1] + _TRAILER.size
