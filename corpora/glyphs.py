"""Glyphs as a training corpus (issue 11): what the symbol stage's glyph DARN is trained on.

A *glyph* is one connected component of a page (8-connectivity, ``scipy.ndimage.label``), cropped
to its bounding box: what a symbol coder puts in its dictionary. Glyphs come from two places:

- cut from images: every component of every image, each distinct shape once per image (a page's
  dictionary holds each shape once, however often it recurs);
- rendered from fonts: each character of each text font under /usr/share/fonts at the pixel sizes
  of 8-14 pt at 200 and 300 dpi, at two horizontal sub-pixel phases, drawn anti-aliased and
  thresholded at 0.5 (the crisp binarisation of :mod:`darncodec.corpora.rendered`), then split into
  its components as a page would be ("i" is a dot and a stem).

Each glyph is placed at the **top-left** corner of a fixed tile (default 32x32), not centred: a
symbol coder knows a dictionary entry's height and width before its pixels, so the glyph's corner is
the one fixed point, the top row and the left column of its box always hold ink, and no rounding of
a centre shifts equal shapes of different sizes differently. A glyph larger than the tile is cut
into tile-sized pieces (:func:`darncodec.corpora.tiles.cut_tiles`, from its corner; blank pieces
dropped), as a coder with a fixed-size DARN has to code it; a component more than ``max_side``
pixels high or wide (128 by default: rules, frames, figures, not text up to 14 pt at 600 dpi) is not
a glyph and is skipped. Equal tiles are kept once, so no tile is both in training and validation.

The default recipe (``darncodec train --corpus glyphs``) is the font glyphs plus the glyphs cut
from the non-test scans of ``bilevel_docs`` (never the CCITT pages, never the rendered pages of the
decision set); ``glyphs:PATHS`` cuts the glyphs of the user's own images instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from .documents import font_files, scanned_images
from .rendered import binarise
from .tiles import cut_tiles

TILE = (32, 32)
MAX_SIDE = 128
POINTS = (8, 10, 12, 14)
DPIS = (200, 300)
PHASES = (0.0, 0.5)
CHARACTERS = "".join(chr(c) for c in range(33, 127)) + "".join(chr(c) for c in range(0xC0, 0x100)) + \
    "\u00a7\u00a9\u00b0\u00b1\u00b5\u00b6\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u20ac"
LATIN_FONT_EXCLUDED = "DroidSansFallbackFull"   # the CJK font of the documents recipe
EIGHT_CONNECTED = np.ones((3, 3), bool)


def components(bits: np.ndarray) -> list[np.ndarray]:
    """The 8-connected components of a 0/1 image, each cropped to its bounding box (only its own
    pixels, not those of other components inside the box), in the raster order of their first pixel."""
    labels, _ = ndimage.label(bits, structure=EIGHT_CONNECTED)
    return [(labels[box] == index).astype(np.uint8)
            for index, box in enumerate(ndimage.find_objects(labels), start=1)]


def distinct(glyphs: Iterable[np.ndarray]) -> list[np.ndarray]:
    """Each distinct bitmap (shape and pixels) once, in order of first occurrence."""
    seen: set[tuple[tuple[int, ...], bytes]] = set()
    kept = []
    for glyph in glyphs:
        key = (glyph.shape, np.packbits(glyph).tobytes())
        if key not in seen:
            seen.add(key)
            kept.append(glyph)
    return kept


def glyph_tiles_of(glyphs: Iterable[np.ndarray], tile_h: int, tile_w: int,
                   max_side: int = MAX_SIDE) -> np.ndarray:
    """(N, tile_h, tile_w) tiles with each glyph at the top-left corner; larger glyphs cut into
    tile-sized pieces (blank ones dropped), glyphs over ``max_side`` pixels high or wide skipped."""
    tiles = [np.zeros((0, tile_h, tile_w), np.uint8)]
    for glyph in glyphs:
        if max(glyph.shape) > max_side:
            continue
        pieces = cut_tiles(glyph, tile_h, tile_w)
        tiles.append(pieces[pieces.any(axis=(1, 2))])
    return np.concatenate(tiles)


def image_glyphs(images: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """The distinct components of each image (a shape recurring in two images comes twice)."""
    for bits in images:
        yield from distinct(components(bits))


def pixel_sizes(points: Iterable[int] = POINTS, dpis: Iterable[int] = DPIS) -> list[int]:
    """Pixels per em of each font size in points at each resolution, each once, ascending."""
    return sorted({round(pt * dpi / 72) for pt in points for dpi in dpis})


def render_character(font: ImageFont.FreeTypeFont, character: str, phase: float) -> np.ndarray:
    """One character drawn crisp (anti-aliased, thresholded at 0.5) at a horizontal sub-pixel phase."""
    size = int(font.size)
    canvas = Image.new("L", (3 * size, 3 * size), 255)
    ImageDraw.Draw(canvas).text((size + phase, size), character, font=font, fill=0)
    return binarise(canvas)


def font_glyphs(fonts: Iterable[Path], sizes: Iterable[int], characters: str = CHARACTERS,
                phases: Iterable[float] = PHASES) -> Iterator[np.ndarray]:
    """The components of each character a font has (characters drawn as the font's missing-glyph
    box are left out), at each pixel size and phase."""
    for path in fonts:
        for size in sizes:
            font = ImageFont.truetype(str(path), size)
            for phase in phases:
                missing = render_character(font, "\U0010fffd", phase)
                for character in characters:
                    bits = render_character(font, character, phase)
                    if bits.any() and not np.array_equal(bits, missing):
                        yield from components(bits)


def text_fonts() -> list[Path]:
    """The fonts of the documents recipe that draw Latin text."""
    return [path for path in font_files() if LATIN_FONT_EXCLUDED not in path.name]


def default_glyphs() -> Iterator[np.ndarray]:
    """The default recipe: font glyphs, then the glyphs of the non-test bilevel_docs scans."""
    yield from distinct(font_glyphs(text_fonts(), pixel_sizes()))
    yield from image_glyphs(scanned_images())


def glyph_tiles(tile_h: int, tile_w: int, paths: list[str] | None = None, max_tiles: int | None = None,
                seed: int = 0, threshold: float | None = None, max_side: int = MAX_SIDE) -> np.ndarray:
    """(N, tile_h, tile_w) uint8 glyph tiles, each distinct tile once, in order of first occurrence.

    ``paths`` (files, folders, .npz as :func:`darncodec.imageio.iter_inputs` reads them, ``threshold``
    binarising grey images) gives the glyphs of those images; None the default recipe. With
    ``max_tiles``, a uniform random subset of that size (fixed by ``seed``) is kept, in order.
    """
    from darncodec.imageio import iter_inputs

    glyphs = default_glyphs() if paths is None else \
        image_glyphs(bits for _, bits in iter_inputs(paths, threshold))
    tiles = glyph_tiles_of(glyphs, tile_h, tile_w, max_side)
    _, first = np.unique(tiles.reshape(len(tiles), tile_h * tile_w), axis=0, return_index=True)
    tiles = tiles[np.sort(first)]
    if max_tiles is not None and len(tiles) > max_tiles:
        keep = np.sort(np.random.default_rng(seed).choice(len(tiles), max_tiles, replace=False))
        tiles = tiles[keep]
    return tiles
