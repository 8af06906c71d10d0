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
    """Write text.png (about 300x80, two lines of text) and digit.png (a 28x28 digit glyph)."""
    folder = samples_dir()
    folder.mkdir(exist_ok=True)
    write_bilevel(folder / "text.png", render((300, 80), TEXT, 22))
    write_bilevel(folder / "digit.png", render((28, 28), "3", 20, stroke=1))


if __name__ == "__main__":
    main()
