"""The decision set of the symbol stage (issue 11): the non-test images its designs are chosen on.

Two parts, never a test page (not the CCITT pages, nothing from Debian's documentation PDFs):

- the clean rendered text pages of :func:`darncodec.corpora.rendered.decision_pages` (200, 300 and
  600 dpi; columns, tables, formulas, code listings);
- every non-test image of ``bilevel_docs`` (the Leptonica scans and line art, the viewfax page, the
  JBIG-KIT examples; grey or colour ones binarised at 0.5), named ``folder/file`` (``#i`` for frame i).

The glyph corpus (:mod:`darncodec.corpora.glyphs`) cuts glyphs from the same scans, so a design
choice that a trained glyph model takes part in is best judged on the rendered pages.
"""

from __future__ import annotations

import numpy as np

from .documents import scanned_files
from .rendered import decision_pages


def decision_scans() -> list[tuple[str, np.ndarray]]:
    """The non-test images of bilevel_docs as (``folder/file``, 0/1 array), sorted by folder and name."""
    from darncodec.imageio import read_bilevel

    return [(f"{path.parent.name}/{path.name}{name[len(str(path)):]}", bits)
            for path in scanned_files() for name, bits in read_bilevel(path, threshold=0.5)]


def decision_set() -> list[tuple[str, np.ndarray]]:
    """The rendered text pages, then the scans."""
    return decision_pages() + decision_scans()
