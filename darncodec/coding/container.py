"""The .darn container (specified in docs/format.md). All integers little-endian.

    offset  size  field
    0       4     magic b"DARN"
    4       1     format version (1)
    5       1     coder id (1: constriction AnsCoder, 32-bit words, Bernoulli perfect=False)
    6       1     coder precision in bits (24)
    7       1     constriction major.minor (high nibble major, low nibble minor: 0x05 for 0.5)
    8       32    sha256 content hash of the model
    40      2     tile height      42  2  tile width
    44      4     largest batch of tiles
    48      4     number of images N
    then N times: u16 name length, name (UTF-8), u32 height, u32 width, u32 CRC-32 of the pixels
            (np.packbits of the row-major 0/1 array, 1 = ink), u64 the image's coded cost in
            millibits (sum over its tiles of -log2 p(x|h) - log2 p(h) + log2 q(h|x), for `info`)
    then    8     number of 32-bit payload words W
            4     CRC-32 of the payload
            4     CRC-32 of every header byte before this field
    then    4W    payload: the AnsCoder's words
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from darncodec.errors import FormatError

MAGIC = b"DARN"
VERSION = 1
CODER_ID = 1
PRECISION = 24
CONSTRICTION_VERSION = 0x05
_FIXED = struct.Struct("<4sBBBB32sHHII")
_IMAGE = struct.Struct("<IIIQ")
_TRAILER = struct.Struct("<QII")


@dataclass
class ImageEntry:
    name: str
    height: int
    width: int
    pixel_crc: int
    millibits: int


@dataclass
class Header:
    model_hash: str
    tile: tuple[int, int]
    max_batch: int
    images: list[ImageEntry] = field(default_factory=list)


def pixel_crc(bits: np.ndarray) -> int:
    return zlib.crc32(np.packbits(np.asarray(bits, np.uint8), axis=None).tobytes())


def pack(header: Header, words: np.ndarray) -> bytes:
    parts = [_FIXED.pack(MAGIC, VERSION, CODER_ID, PRECISION, CONSTRICTION_VERSION,
                         bytes.fromhex(header.model_hash), *header.tile, header.max_batch, len(header.images))]
    for image in header.images:
        name = image.name.encode("utf-8")[:65535]
        parts.append(struct.pack("<H", len(name)) + name + _IMAGE.pack(image.height, image.width, image.pixel_crc, image.millibits))
    payload = np.asarray(words, dtype="<u4").tobytes()
    head = b"".join(parts)
    head += struct.pack("<QI", len(payload) // 4, zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload


def unpack(data: bytes) -> tuple[Header, np.ndarray]:
    """Parse and check a container; every problem is a FormatError with one line of reason."""
    if len(data) < 4 or data[:4] != MAGIC:
        raise FormatError("not a .darn file (bad magic bytes)")
    if len(data) < _FIXED.size:
        raise FormatError("truncated .darn file (header cut short)")
    magic, version, coder, precision, cversion, model_hash, th, tw, max_batch, count = _FIXED.unpack_from(data)
    if version != VERSION:
        newer = "a newer darncodec" if version > VERSION else "an unknown format version"
        raise FormatError(f"format version {version} needs {newer} (this one reads version {VERSION})")
    if (coder, precision, cversion >> 4) != (CODER_ID, PRECISION, CONSTRICTION_VERSION >> 4):
        raise FormatError(f"coder settings {coder}/{precision}/{cversion:#x} are not supported")
    offset = _FIXED.size
    header = Header(model_hash.hex(), (th, tw), max_batch)
    try:
        for _ in range(count):
            (length,) = struct.unpack_from("<H", data, offset)
            name = data[offset + 2: offset + 2 + length].decode("utf-8")
            offset += 2 + length
            header.images.append(ImageEntry(name, *_IMAGE.unpack_from(data, offset)))
            offset += _IMAGE.size
        n_words, payload_crc, header_crc = _TRAILER.unpack_from(data, offset)
    except (struct.error, UnicodeDecodeError):
        raise FormatError("truncated or damaged .darn header") from None
    if zlib.crc32(data[: offset + 12]) != header_crc:
        raise FormatError("damaged .darn header (checksum mismatch)")
    start = offset + _TRAILER.size
    payload = data[start:]
    if len(payload) != 4 * n_words:
        raise FormatError(f"truncated .darn file (payload has {len(payload)} of {4 * n_words} bytes)")
    if zlib.crc32(payload) != payload_crc:
        raise FormatError("damaged .darn payload (checksum mismatch)")
    if min(th, tw, max_batch) < 1 or any(min(i.height, i.width) < 1 for i in header.images):
        raise FormatError("damaged .darn header (zero size)")
    return header, np.frombuffer(payload, dtype="<u4").astype(np.uint32)


def header_size(data: bytes) -> int:
    """Bytes before the payload (the container's overhead)."""
    return len(data) - 4 * _TRAILER.unpack_from(data, _payload_offset(data))[0]


def _payload_offset(data: bytes) -> int:
    offset = _FIXED.size
    for _ in range(_FIXED.unpack_from(data)[-1]):
        (length,) = struct.unpack_from("<H", data, offset)
        offset += 2 + length + _IMAGE.size
    return offset
