"""Limits on what an archive or an input may claim, checked before anything is allocated.

An archive of a few bytes can claim a 100000 x 100000 image, a million images, or an image table that
inflates to gigabytes. Decoding allocates memory for what the header claims (the tiles of every
image), so every claim is held to a limit first: pixels per image, coded pixels per archive (tiles
times tile area, padding included: a 1 x 1 image still costs a whole tile), images per archive and
bytes of the inflated image table. The defaults (docs/format.md, *Limits*) admit any page up to A3 at
600 dpi and archives of a million small images; ``darncodec --max-pixels`` and friends raise them.
"""

from __future__ import annotations

import lzma
import zlib
from dataclasses import dataclass

from darncodec.errors import FormatError


class LimitError(FormatError):
    """An archive (or input) claims more than the limits allow; not necessarily damaged."""


@dataclass(frozen=True)
class Limits:
    """What one archive may claim. ``max_table_bytes`` follows from ``max_images``."""

    max_pixels: int = 2**27             # pixels of one image (height * width): 134,217,728
    max_archive_pixels: int = 2**28     # coded pixels of all images (whole tiles, padding included)
    max_images: int = 1_000_000

    @property
    def max_table_bytes(self) -> int:
        """Largest inflated image table: 64 bytes per image (name, sizes) plus 1 MiB."""
        return (1 << 20) + 64 * self.max_images

    def check_count(self, count: int) -> None:
        if count > self.max_images:
            raise LimitError(f"{count} images exceed the limit of {self.max_images} (raise it with --max-images)")

    def check_image(self, height: int, width: int, name: str = "image") -> None:
        if height * width > self.max_pixels:
            raise LimitError(f"{name}: {width}x{height} = {height * width} pixels exceed the limit of "
                             f"{self.max_pixels} (raise it with --max-pixels)")

    def check_coded(self, coded: int, tile: tuple[int, int]) -> None:
        """The archive's coded pixels so far (``coded_pixels`` summed)."""
        if coded > self.max_archive_pixels:
            raise LimitError(f"{coded} coded pixels (whole {tile[0]}x{tile[1]} tiles) exceed the archive limit of "
                             f"{self.max_archive_pixels} (raise it with --max-archive-pixels)")

    def check_archive(self, sizes: list[tuple[int, int]], tile: tuple[int, int]) -> None:
        """Every image's pixels, and the archive's coded pixels (whole tiles of ``tile``)."""
        for index, (height, width) in enumerate(sizes):
            self.check_image(height, width, f"image {index}")
        self.check_coded(sum(coded_pixels(height, width, tile) for height, width in sizes), tile)


def coded_pixels(height: int, width: int, tile: tuple[int, int]) -> int:
    """Pixels of an image's whole tiles, padding included."""
    return -(-height // tile[0]) * tile[0] * -(-width // tile[1]) * tile[1]


DEFAULT_LIMITS = Limits()


def inflate(method: int, data: bytes, limit: int) -> bytes:
    """The image table stored as ``method`` (0 raw, 1 zlib, 2 xz) in ``data``, inflating at most
    ``limit`` bytes: a table bomb is refused after ``limit + 1`` bytes, not after all of them.
    A stream cut short is damage; bytes after the end of the stream are ignored (as zlib.decompress
    and lzma.decompress do)."""
    if method == 0:
        table, complete = data, True
    elif method in (1, 2):
        inflater = zlib.decompressobj() if method == 1 else lzma.LZMADecompressor()
        try:
            table = inflater.decompress(data, limit + 1)
        except (zlib.error, lzma.LZMAError):
            raise FormatError("damaged .darn image table") from None
        complete = inflater.eof
    else:
        raise FormatError("damaged .darn image table (unknown storage)")
    if len(table) > limit:
        raise LimitError(f"image table inflates beyond {limit} bytes (raise --max-images to allow more)")
    if not complete:
        raise FormatError("damaged .darn image table (stream cut short)")
    return table
