"""The documents corpus (issue 5): what the default model is trained on, rebuilt from what is offline.

- every bilevel image in ``bilevel_docs`` except the CCITT test pages: the Leptonica scans and line
  art (grey or colour ones binarised at 0.5), the viewfax page and the JBIG-KIT examples;
- pages of text rendered with the fonts Debian installs under /usr/share/fonts (fax width 1728,
  fine-mode height 2376, font sizes from about 6 to 18 points at 200 dpi, Latin text from
  /usr/share/common-licenses, some pages of Greek, Cyrillic or CJK characters, ruled boxes as in
  forms), drawn anti-aliased and thresholded at a random level so that edges are ragged like a scan;
- Omniglot handwriting (the 105x105 characters of ``omniglot_105px``), laid out on pages.

The recipe is seeded: ``document_tiles(...)`` gives the same tiles for the same arguments and fonts.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .paths import data_root
from .tiles import cut_tiles

PAGE = (2376, 1728)                     # height, width of a fine-mode fax page (200 dpi)
FONT_FOLDER = Path("/usr/share/fonts")
NOT_TEXT_FONTS = ("StandardSymbols", "D050000L", "MathTeX")   # symbol and dingbat fonts
CJK_FONT = "DroidSansFallbackFull"
TEXT_FOLDER = Path("/usr/share/common-licenses")
SCRIPTS = {"greek": (0x3B1, 0x3C9), "cyrillic": (0x430, 0x44F), "cjk": (0x4E00, 0x6FFF), "kana": (0x3041, 0x3096)}


def font_files() -> list[Path]:
    fonts = sorted(p for p in FONT_FOLDER.rglob("*") if p.suffix.lower() in {".ttf", ".otf"})
    return [p for p in fonts if not any(name in p.name for name in NOT_TEXT_FONTS)]


def _latin_words() -> list[str]:
    words = [w for path in sorted(TEXT_FOLDER.glob("*")) if path.is_file()
             for w in path.read_text(errors="ignore").split()]
    return words or "the quick brown fox jumps over the lazy dog".split()


def _script_words(rng: np.random.Generator, script: str, count: int) -> list[str]:
    low, high = SCRIPTS[script]
    lengths = rng.integers(1, 4 if script in ("cjk", "kana") else 9, count)
    return ["".join(chr(c) for c in rng.integers(low, high + 1, n)) for n in lengths]


def render_page(rng: np.random.Generator, fonts: list[Path], words: list[str]) -> np.ndarray:
    """One page of text (and sometimes ruled boxes) as a 0/1 array, 1 = ink."""
    height, width = PAGE
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    script = rng.choice(["latin"] * 6 + ["greek", "cyrillic", "cjk", "kana"])
    candidates = [f for f in fonts if CJK_FONT in f.name] if script in ("cjk", "kana") else \
        [f for f in fonts if CJK_FONT not in f.name]
    margin = int(rng.integers(60, 250))
    y = margin
    while y < height - margin:
        size = int(rng.integers(17, 50))
        font = ImageFont.truetype(str(candidates[rng.integers(len(candidates))]), size)
        lines = int(rng.integers(1, 12))
        if rng.random() < 0.15:                                   # a ruled box, as in forms
            box_h = int(rng.integers(40, 300))
            draw.rectangle([margin, y, width - margin, y + box_h], outline=0, width=int(rng.integers(1, 4)))
            y += box_h + size
            continue
        for _ in range(lines):
            line_words = words if script == "latin" else _script_words(rng, script, 40)
            start = int(rng.integers(len(line_words)))
            text, x = "", margin + (int(rng.integers(0, 80)) if rng.random() < 0.3 else 0)
            for word in (line_words[(start + i) % len(line_words)] for i in range(200)):
                candidate = f"{text} {word}" if text else word
                if draw.textlength(candidate, font=font) > width - margin - x:
                    break
                text = candidate
            draw.text((x, y), text, font=font, fill=0)
            y += int(size * rng.uniform(1.1, 1.6))
            if y >= height - margin:
                break
        y += int(size * rng.uniform(0.5, 2.0))
    grey = np.asarray(page, dtype=np.float64) / 255
    return (grey < rng.uniform(0.35, 0.65)).astype(np.uint8)


def rendered_pages(count: int, seed: int = 0) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    fonts, words = font_files(), _latin_words()
    if not fonts:
        raise RuntimeError(f"no fonts under {FONT_FOLDER} (Debian: apt-get install fonts-dejavu fonts-urw-base35)")
    for _ in range(count):
        yield render_page(rng, fonts, words)


def omniglot_pages(per_page: int = 300, seed: int = 0) -> Iterator[np.ndarray]:
    """Omniglot characters (ink = 1) laid out in rows on pages, in the zips' order."""
    rng = np.random.default_rng(seed)
    glyphs = []
    for archive in sorted((data_root() / "omniglot_105px").glob("images_background_small*.zip")):
        with zipfile.ZipFile(archive) as zipped:
            for name in sorted(n for n in zipped.namelist() if n.endswith(".png")):
                glyphs.append(1 - np.asarray(Image.open(io.BytesIO(zipped.read(name))).convert("1"), np.uint8))
    for start in range(0, len(glyphs), per_page):
        page = np.zeros(PAGE, np.uint8)
        for i, glyph in enumerate(glyphs[start:start + per_page]):
            row, col = divmod(i, 16)
            y, x = 60 + row * 110 + int(rng.integers(0, 6)), 40 + col * 105
            if y + 105 <= PAGE[0]:
                page[y:y + 105, x:x + 105] |= glyph
        yield page


def scanned_files() -> list[Path]:
    """The non-test bilevel_docs image files (never the CCITT pages), sorted by folder and name."""
    root = data_root() / "bilevel_docs"
    return [path for folder in ("leptonica", "viewfax", "jbigkit_examples") for path in sorted((root / folder).iterdir())
            if path.suffix.lower() in {".png", ".tif", ".tiff", ".pbm"}]


def scanned_images() -> Iterator[np.ndarray]:
    """The non-test bilevel_docs images (grey or colour ones binarised at 0.5)."""
    from darncodec.imageio import read_bilevel

    for path in scanned_files():
        for _, bits in read_bilevel(path, threshold=0.5):
            yield bits


def document_images(rendered: int = 40, seed: int = 0) -> Iterator[np.ndarray]:
    yield from scanned_images()
    yield from rendered_pages(rendered, seed)
    yield from omniglot_pages(seed=seed)


def document_tiles(tile_h: int, tile_w: int, max_tiles: int | None = None, rendered: int = 40,
                   seed: int = 0) -> np.ndarray:
    """(N, tile_h, tile_w) uint8 tiles of every document image, a seeded subset of ``max_tiles``."""
    tiles = np.concatenate([cut_tiles(bits, tile_h, tile_w) for bits in document_images(rendered, seed)])
    if max_tiles is not None and len(tiles) > max_tiles:
        keep = np.sort(np.random.default_rng(seed).choice(len(tiles), max_tiles, replace=False))
        tiles = tiles[keep]
    return tiles
