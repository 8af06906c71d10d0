"""Regenerate the sample images in corpora/samples/: ``python corpora/make_samples.py``.

Everything is drawn with Pillow's default font straight onto 1-bit canvases (no
anti-aliasing), so the images are truly bilevel. Exact pixels may vary with the Pillow version.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from darncodec.corpora.paths import samples_dir
from darncodec.imageio import write_bilevel

TEXT = "Lossless bilevel coding with\nDARN and bits-back ANS."
LETTER = ("A page of text repeats its glyph shapes: the symbol stage codes each\n"
          "shape once, in a dictionary, then only where it recurs; the page is\n"
          "coded with the predicted page as context, so a pixel the prediction\n"
          "explains costs almost nothing. Lossless bilevel coding with a DARN\n"
          "and bits-back ANS, for scanned pages, faxes, line art and handwriting.\n") * 4


def render(size: tuple[int, int], text: str, font_size: int, stroke: int = 0) -> np.ndarray:
    """Black ``text`` (lines split at newlines) centred on white, as a 0/1 ink array.

    ``stroke`` thickens the strokes by that many pixels on each side.
    """
    image = Image.new("1", size, 1)
    font = ImageFont.load_default(size=font_size)
    centre = (size[0] / 2, size[1] / 2)
    ImageDraw.Draw(image).multiline_text(
        centre, text, font=font, fill=0, anchor="mm", align="center", spacing=6, stroke_width=stroke
    )
    return 1 - np.asarray(image, dtype=np.uint8)


def main() -> None:
    """Write text.png (about 300x80, two lines of text), digit.png (a 28x28 digit glyph) and
    letter.png (1024x640, twenty lines of text: a page that the symbol stage codes)."""
    folder = samples_dir()
    folder.mkdir(exist_ok=True)
    write_bilevel(folder / "text.png", render((300, 80), TEXT, 22))
    write_bilevel(folder / "digit.png", render((28, 28), "3", 20, stroke=1))
    write_bilevel(folder / "letter.png", render((1024, 640), LETTER, 18))


if __name__ == "__main__":
    main()
