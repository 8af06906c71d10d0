"""Clean rendered pages of text (issue 11): the rendered half of the symbol stage's decision set.

Eight pages drawn with the fonts Debian installs (DejaVu, URW base35, Noto; ``fonts-dejavu``,
``fonts-urw-base35``, ``fonts-noto-mono``) at 8-14 pt, four at 200 dpi, three at 300 dpi and one at
600 dpi, A4 (1654x2339, 2480x3508, 4960x7016 pixels): one and two columns of justified or ragged
paragraphs, headings, ruled tables, formula-like lines with sub- and superscripts, and code listings
in a monospace font. The words are those of /usr/share/common-licenses, read in order from a seeded
starting point (so that the text is language), or made from them (code, table cells).

Pages are drawn anti-aliased and binarised at 0.5, with no random threshold: clean rendered text
repeats each glyph shape exactly (at each sub-pixel phase), as a PDF page rendered to 1 bit does.
Every page has its own seed: ``decision_pages()`` is the same list on every run with the same fonts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .documents import _latin_words, font_files

A4_PIXELS = {200: (2339, 1654), 300: (3508, 2480), 600: (7016, 4960)}   # (height, width) at each dpi
POINT = 1 / 72                       # inches

Draw = Callable[[ImageDraw.ImageDraw, float, float, float], None]


@dataclass(frozen=True)
class Item:
    """One unbreakable piece of a column (a line, a heading, a table, a formula): its height in
    pixels and how to draw it at (x, y) in a column ``width`` pixels wide."""

    height: float
    draw: Draw


@dataclass(frozen=True)
class PageSpec:
    """How one decision page is drawn: resolution, body font and size, columns, what it holds."""

    name: str
    dpi: int
    font: str                       # the body font's file name without suffix, e.g. NimbusRoman-Regular
    points: float
    columns: int = 1
    blocks: tuple[str, ...] = ("text",)   # drawn in turn until the page is full: text, table, formula, code
    justified: bool = True
    mono: str = "DejaVuSansMono"
    seed: int = 0


DECISION_SPECS = (
    PageSpec("200dpi-roman10-1col", 200, "NimbusRoman-Regular", 10, 1, ("text", "text", "formula"), seed=101),
    PageSpec("200dpi-dejavuserif9-2col", 200, "DejaVuSerif", 9, 2, ("text", "text", "formula"), seed=102),
    PageSpec("200dpi-sans10-tables", 200, "NimbusSans-Regular", 10, 1, ("text", "table"), justified=False,
             seed=103),
    PageSpec("200dpi-p052-11-code", 200, "P052-Roman", 11, 1, ("text", "code", "formula"),
             mono="NimbusMonoPS-Regular", seed=104),
    PageSpec("300dpi-c059-12-1col", 300, "C059-Roman", 12, 1, ("text", "formula", "text"), justified=False,
             seed=105),
    PageSpec("300dpi-p052-8-2col", 300, "P052-Roman", 8, 2, ("text", "text", "table"), seed=106),
    PageSpec("300dpi-sans9-code", 300, "DejaVuSans", 9, 1, ("text", "code", "table"), mono="NotoSansMono-Regular",
             seed=107),
    PageSpec("600dpi-roman11-1col", 600, "NimbusRoman-Regular", 11, 1, ("text", "formula", "text", "code"),
             mono="NimbusMonoPS-Regular", seed=108),
)

SYMBOL_FONT = "DejaVuSerif"          # Greek letters and operators of formulas
GREEK = "αβγδεθλμπσφω"
OPERATORS = ("=", "+", "−", "≤", "≥", "≈", "·")
BIG_OPERATORS = ("∑", "∫", "∏", "√")


def binarise(image: Image.Image) -> np.ndarray:
    """A crisp 0/1 array (1 = ink) of a white-background grey render: ink where darker than 0.5."""
    return (np.asarray(image.convert("L"), dtype=np.float64) / 255 < 0.5).astype(np.uint8)


@cache
def font_path(name: str) -> Path:
    """The font file called ``name`` (without suffix) under /usr/share/fonts."""
    for path in font_files():
        if path.stem == name:
            return path
    raise RuntimeError(f"font {name} not found under /usr/share/fonts "
                       "(Debian: apt-get install fonts-dejavu fonts-urw-base35 fonts-noto-mono)")


def font(name: str, pixels: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(name)), max(1, round(pixels)))


def variant(name: str, style: str) -> str:
    """The bold or italic font of ``name``'s family (``style`` is "Bold" or "Italic")."""
    family = name.split("-")[0]
    candidates = {"Bold": ("-Bold",), "Italic": ("-Italic", "-Oblique")}[style]
    for suffix in candidates:
        try:
            font_path(family + suffix)
            return family + suffix
        except RuntimeError:
            continue
    return name


class Writer:
    """Makes the items of one page's blocks from seeded random choices."""

    def __init__(self, spec: PageSpec, rng: np.random.Generator, words: list[str]) -> None:
        self.spec, self.rng, self.words = spec, rng, words
        self.pixels = spec.points * POINT * spec.dpi                 # pixels per em of the body text
        self.body = font(spec.font, self.pixels)
        self.leading = 1.2 * self.pixels
        self.rule = max(1, round(spec.dpi / 200))
        self.cursor = int(rng.integers(len(words)))

    def next_words(self, count: int) -> list[str]:
        taken = [self.words[(self.cursor + i) % len(self.words)] for i in range(count)]
        self.cursor = (self.cursor + count) % len(self.words)
        return taken

    def plain_words(self, count: int) -> list[str]:
        """Lower-case letters only (for identifiers)."""
        words = [w.strip(".,;:()[]\"'").lower() for w in self.next_words(3 * count)]
        return [w for w in words if w.isalpha() and w.isascii()][:count] or ["value"] * count

    def items(self, block: str, width: float) -> list[Item]:
        return {"text": self.paragraphs, "table": self.table, "formula": self.formula,
                "code": self.code}[block](width)

    # ------------------------------------------------------------------------------- text

    def heading(self) -> Item:
        heading_font = font(variant(self.spec.font, "Bold"), 1.3 * self.pixels)
        text = " ".join(w.strip(".,;:") for w in self.next_words(int(self.rng.integers(2, 7)))).title()
        return Item(2.2 * self.pixels, lambda draw, x, y, width: draw.text((x, y + 0.5 * self.pixels), text,
                                                                          font=heading_font, fill=0))

    def paragraphs(self, width: float) -> list[Item]:
        items = [self.heading()]
        for _ in range(int(self.rng.integers(2, 5))):
            lines = self.wrap(self.next_words(int(self.rng.integers(40, 160))), width - self.pixels, self.body)
            for i, line in enumerate(lines):
                indent = self.pixels if i == 0 else 0.0
                justify = self.spec.justified and i < len(lines) - 1
                items.append(Item(self.leading, self.line_drawer(line, indent, justify)))
            items.append(Item(0.5 * self.leading, lambda *args: None))
        return items

    def wrap(self, words: list[str], width: float, face: ImageFont.FreeTypeFont) -> list[list[str]]:
        lines, line = [], []
        for word in words:
            if line and face.getlength(" ".join(line + [word])) > width:
                lines.append(line)
                line = []
            line.append(word)
        return lines + [line] if line else lines

    def line_drawer(self, line: list[str], indent: float, justify: bool) -> Draw:
        body = self.body

        def draw_line(draw: ImageDraw.ImageDraw, x: float, y: float, width: float) -> None:
            if not justify or len(line) < 2:
                draw.text((x + indent, y), " ".join(line), font=body, fill=0)
                return
            lengths = [body.getlength(word) for word in line]
            gap = (width - indent - sum(lengths)) / (len(line) - 1)
            position = x + indent
            for word, length in zip(line, lengths):
                draw.text((position, y), word, font=body, fill=0)
                position += length + gap
        return draw_line

    # ------------------------------------------------------------------------------ table

    def table(self, width: float) -> list[Item]:
        columns, rows = int(self.rng.integers(3, 6)), int(self.rng.integers(6, 14))
        bold = font(variant(self.spec.font, "Bold"), self.pixels)
        header = [w.strip(".,;:").capitalize() for w in self.next_words(columns)]
        cells = [[self.cell(c) for c in range(columns)] for _ in range(rows)]
        ruled_columns = bool(self.rng.random() < 0.5)
        row_height, rule = 1.5 * self.pixels, self.rule

        def draw_table(draw: ImageDraw.ImageDraw, x: float, y: float, table_width: float) -> None:
            step = table_width / columns
            for r, row in enumerate([header] + cells):
                for c, text in enumerate(row):
                    draw.text((x + c * step + 0.3 * self.pixels, y + r * row_height + 0.25 * self.pixels), text,
                              font=bold if r == 0 else self.body, fill=0)
            bottom = y + (rows + 1) * row_height
            for line_y in (y, y + row_height, bottom):
                draw.rectangle([x, line_y, x + table_width, line_y + rule - 1], fill=0)
            if ruled_columns:
                for c in range(columns + 1):
                    line_x = min(x + c * step, x + table_width - rule)
                    draw.rectangle([line_x, y, line_x + rule - 1, bottom], fill=0)

        return [Item(self.leading, lambda *args: None), Item((rows + 1) * row_height + self.leading, draw_table)]

    def cell(self, column: int) -> str:
        if column == 0:
            return self.plain_words(1)[0]
        kind = self.rng.integers(3)
        if kind == 0:
            return f"{self.rng.uniform(0, 1000):.2f}"
        if kind == 1:
            return f"{int(self.rng.integers(0, 100000)):,}"
        return f"{self.rng.uniform(0, 100):.1f}%"

    # ---------------------------------------------------------------------------- formula

    def formula(self, width: float) -> list[Item]:
        """A displayed formula: italic variables with sub- and superscripts, digits, Greek letters and
        operators, centred in the column."""
        italic = font(variant(self.spec.font, "Italic"), self.pixels)
        symbols = font(SYMBOL_FONT, self.pixels)
        small = font(variant(self.spec.font, "Italic"), 0.7 * self.pixels)
        letters = "abcdfghknpqrstuvwxyz"
        pieces: list[tuple[str, ImageFont.FreeTypeFont, float]] = [
            (str(self.rng.choice(list("fgFGh"))), italic, 0.0), ("(", self.body, 0.0),
            (str(self.rng.choice(list("xyzt"))), italic, 0.0), (")", self.body, 0.0), (" = ", symbols, 0.0)]
        for term in range(int(self.rng.integers(2, 6))):
            if term:
                pieces.append((f" {self.rng.choice(OPERATORS)} ", symbols, 0.0))
            if self.rng.random() < 0.3:
                pieces.append((str(self.rng.choice(BIG_OPERATORS)), symbols, 0.0))
            if self.rng.random() < 0.5:
                pieces.append((str(int(self.rng.integers(2, 100))), self.body, 0.0))
            base = str(self.rng.choice(list(letters + GREEK)))
            pieces.append((base, symbols if base in GREEK else italic, 0.0))
            if self.rng.random() < 0.6:
                pieces.append((str(self.rng.choice(list("ijkn"))), small, 0.3 * self.pixels))
            if self.rng.random() < 0.5:
                pieces.append((str(int(self.rng.integers(2, 4))), small, -0.35 * self.pixels))
        number = f"({int(self.rng.integers(1, 40))})"

        def draw_formula(draw: ImageDraw.ImageDraw, x: float, y: float, column_width: float) -> None:
            total = sum(face.getlength(text) for text, face, _ in pieces)
            position = x + (column_width - total) / 2
            for text, face, shift in pieces:
                draw.text((position, y + 0.5 * self.pixels + shift), text, font=face, fill=0)
                position += face.getlength(text)
            draw.text((x + column_width - self.body.getlength(number), y + 0.5 * self.pixels), number,
                      font=self.body, fill=0)

        return [Item(2.5 * self.pixels, draw_formula)]

    # ------------------------------------------------------------------------------- code

    def code(self, width: float) -> list[Item]:
        """A code listing in the monospace font: Python-like lines made of the text's words."""
        mono = font(self.spec.mono, 0.9 * self.pixels)
        indent = mono.getlength("    ")
        lines: list[tuple[int, str]] = []
        for _ in range(int(self.rng.integers(2, 5))):
            name, *args = self.plain_words(3)
            lines.append((0, f"def {name}_{self.plain_words(1)[0]}({', '.join(args)}):"))
            lines.append((1, f'"""{" ".join(self.next_words(int(self.rng.integers(3, 8))))}."""'))
            for _ in range(int(self.rng.integers(2, 7))):
                target, source, method = self.plain_words(3)
                depth = int(self.rng.integers(1, 3))
                kind = self.rng.integers(4)
                if kind == 0:
                    lines.append((depth, f"{target} = {source}.{method}({int(self.rng.integers(0, 512))})"))
                elif kind == 1:
                    lines.append((depth, f"if {target} > {int(self.rng.integers(0, 64))}:"))
                elif kind == 2:
                    lines.append((depth, f"for {target} in range(len({source})):"))
                else:
                    lines.append((depth, f"# {' '.join(self.next_words(int(self.rng.integers(3, 9))))}"))
            lines.append((1, f"return [{args[0]} for {args[0]} in {name}]"))
            lines.append((0, ""))

        def drawer(depth: int, text: str) -> Draw:
            return lambda draw, x, y, w: draw.text((x + self.pixels + depth * indent, y), text, font=mono, fill=0)

        return [Item(1.1 * self.pixels, drawer(depth, text)) for depth, text in lines]


def render(spec: PageSpec, words: list[str] | None = None) -> np.ndarray:
    """The page of ``spec`` as a 0/1 uint8 array (1 = ink)."""
    height, width = A4_PIXELS[spec.dpi]
    rng = np.random.default_rng(spec.seed)
    writer = Writer(spec, rng, words if words is not None else _latin_words())
    margin, gutter = spec.dpi, 0.3 * spec.dpi                       # one inch, 0.3 inch
    column = (width - 2 * margin - (spec.columns - 1) * gutter) / spec.columns
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    for x, y, item in _flow(writer, column, spec, height - 2 * margin):
        item.draw(draw, margin + x * (column + gutter), margin + y, column)
    return binarise(page)


def _flow(writer: Writer, column: float, spec: PageSpec, room: float) -> Iterator[tuple[int, float, Item]]:
    """(column index, y, item) of the page's items, filling each column top to bottom. In the last
    column, a block with an item that does not fit is cut there and the next block tried; the page
    ends when a whole round of blocks places nothing."""
    index, y, turn, idle = 0, 0.0, 0, 0
    while idle < len(spec.blocks):
        placed = False
        for item in writer.items(spec.blocks[turn % len(spec.blocks)], column):
            if y + item.height > room:
                if index + 1 == spec.columns:
                    break
                index, y = index + 1, 0.0
            yield index, y, item
            y, placed = y + item.height, True
        idle = 0 if placed else idle + 1
        turn += 1


def decision_pages() -> list[tuple[str, np.ndarray]]:
    """The rendered text pages of the decision set, as (name, 0/1 array), in a fixed order."""
    words = _latin_words()
    return [(spec.name, render(spec, words)) for spec in DECISION_SPECS]
