"""Coder id 6, stored: the images' raw bits as the payload, no model (docs/format.md, *Coder id 6*).

The fallback for images the model cannot compress (noise, dithering): each image flattened row-major
and packed 8 pixels to a byte, first pixel in the most significant bit, its last byte padded with zero
bits (``numpy.packbits(image, axis=None)``, the bytes the pixel CRC runs over), the images' bytes
concatenated in table order and zero-padded to whole 32-bit words.
"""

from __future__ import annotations

import numpy as np

from darncodec.errors import FormatError

STORED_TILE = (1, 1)     # the header's tile size and max_batch in a stored archive
STORED_BATCH = 1
STORED_HASH = "00" * 32  # no model: the model hash field is zero


def image_bytes(height: int, width: int) -> int:
    return -(-height * width // 8)


def payload_words(sizes: list[tuple[int, int]]) -> int:
    """W of a stored archive of images of these sizes."""
    return -(-sum(image_bytes(h, w) for h, w in sizes) // 4)


def pack(images: list[np.ndarray]) -> np.ndarray:
    """The payload words (uint32, to be written little-endian) of ``images`` (0/1 arrays)."""
    raw = b"".join(np.packbits(np.asarray(bits, np.uint8), axis=None).tobytes() for bits in images)
    raw += bytes(-len(raw) % 4)
    return np.frombuffer(raw, "<u4").astype(np.uint32)


def unpack(words: np.ndarray, sizes: list[tuple[int, int]]) -> list[np.ndarray]:
    """The images of a stored payload; a payload of the wrong length, or a padding bit that is not
    zero, is damage."""
    if len(words) != payload_words(sizes):
        raise FormatError(f"damaged stored payload ({4 * len(words)} bytes for {payload_words(sizes) * 4})")
    raw = np.asarray(words, "<u4").view(np.uint8)
    images, at = [], 0
    for height, width in sizes:
        size = image_bytes(height, width)
        bits = np.unpackbits(raw[at:at + size])
        if bits[height * width:].any():
            raise FormatError("damaged stored payload (padding bits set)")
        images.append(bits[:height * width].reshape(height, width))
        at += size
    if raw[at:].any():
        raise FormatError("damaged stored payload (padding bytes set)")
    return images
