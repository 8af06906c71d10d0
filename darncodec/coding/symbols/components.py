"""The encoder's analysis of a page: connected components grouped into classes of identical shapes.

Only the encoder runs this (the decoder receives the classes and placements), so it may use any
library: scipy.ndimage labels the 8-connected components. A class is a set of components with the
same bitmap; it enters the dictionary when it recurs (it pays to code its shape once and place it
twice or more).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_AREA = 4          # components whose bounding box covers fewer pixels stay with the raster coder
MAX_SIDE = 256        # ... as do components taller or wider than this (rules, figures)
EDGE_BITS = 0.5       # what the raster coder pays, about, per edge pixel (an ink pixel with a white
                      # 4-neighbour) of a copy of a glyph it has seen before on the page ...
SHEET_EDGE_BITS = 0.5 # ... the dictionary sheet per edge pixel of a shape, beyond what its first copy
                      # on the page would cost ...
PLACEMENT_BITS = 12   # ... and the placements per copy, before they are measured (select_symbols);
                      # measured on a clean 200-dpi text page and a scan of the decision set
MIN_GAIN_BITS = 1600  # a page whose classes promise less than this in all keeps no dictionary


@dataclass
class Symbols:
    """A page's dictionary and placements.

    ``shapes``: the classes' bitmaps (uint8 0/1, 2-D), in order of first placement;
    ``placements``: (n, 3) int64 rows (class, top, left) in reading order."""

    shapes: list[np.ndarray]
    placements: np.ndarray

    @property
    def sizes(self) -> np.ndarray:
        return np.array([shape.shape for shape in self.shapes], np.int64).reshape(-1, 2)


def reading_order(boxes: np.ndarray) -> np.ndarray:
    """Indices of ``boxes`` ((n, 4) rows top, left, bottom, right; bottom/right exclusive) in
    reading order: text lines top to bottom, each left to right. A line starts with the highest
    unassigned box (by vertical centre) and takes every later box whose centre lies within its
    rows."""
    if len(boxes) == 0:
        return np.zeros(0, np.int64)
    centre = (boxes[:, 0] + boxes[:, 2]) / 2
    by_centre = np.argsort(centre, kind="stable")
    order: list[int] = []
    i = 0
    while i < len(by_centre):
        first = by_centre[i]
        top, bottom = boxes[first, 0], boxes[first, 2]
        j = i + 1
        while j < len(by_centre) and centre[by_centre[j]] < bottom:
            bottom = max(bottom, boxes[by_centre[j], 2]) if centre[by_centre[j]] >= top else bottom
            j += 1
        line = by_centre[i:j]
        order += list(line[np.argsort(boxes[line, 1], kind="stable")])
        i = j
    return np.array(order, np.int64)


def _edge_pixels(key: tuple) -> int:
    """Ink pixels of a class's bitmap (key: height, width, packed bits) with a white 4-neighbour."""
    height, width, packed = key
    bitmap = np.pad(np.unpackbits(np.frombuffer(packed, np.uint8))[: height * width].reshape(height, width), 1)
    inner = bitmap[1:-1, 1:-1]
    interior = bitmap[:-2, 1:-1] & bitmap[2:, 1:-1] & bitmap[1:-1, :-2] & bitmap[1:-1, 2:]
    return int((inner & (1 - interior)).sum())


@dataclass
class Components:
    """A page's components of dictionary size: boxes ((n, 4): top, left, bottom, right) and class
    keys (height, width, packed bitmap), with the components of each key."""

    boxes: list[tuple[int, int, int, int]]
    keys: list[tuple[int, int, bytes]]
    members: dict[tuple, list[int]]


def page_components(page: np.ndarray) -> Components:
    from scipy import ndimage   # here, not at the top: importing it takes half a second, which a decoder never needs

    labels, _ = ndimage.label(page, structure=np.ones((3, 3), bool))
    boxes, keys = [], []
    for index, found in enumerate(ndimage.find_objects(labels), start=1):
        rows, cols = found
        height, width = rows.stop - rows.start, cols.stop - cols.start
        if height * width < MIN_AREA or max(height, width) > MAX_SIDE:
            continue
        bitmap = (labels[found] == index).astype(np.uint8)
        boxes.append((rows.start, cols.start, rows.stop, cols.stop))
        keys.append((height, width, np.packbits(bitmap).tobytes()))
    members: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        members.setdefault(key, []).append(i)
    return Components(boxes, keys, members)


def select_symbols(found: Components, placement_bits: float = PLACEMENT_BITS) -> Symbols:
    """The classes worth a dictionary entry and their placements in reading order: a class of n
    copies and e edge pixels enters when the raster coder's bits for its copies after the first,
    EDGE_BITS * e * (n - 1), exceed its placements', placement_bits * n, and its shape's on the
    sheet, SHEET_EDGE_BITS * e; none enters where their gains add up to less than MIN_GAIN_BITS."""
    gain = {key: -1.0 for key, copies in found.members.items() if len(copies) < 2}   # a shape seen once never pays
    for key, copies in found.members.items():
        if len(copies) < 2:
            continue
        edges = _edge_pixels(key)
        gain[key] = EDGE_BITS * edges * (len(copies) - 1) - placement_bits * len(copies) - SHEET_EDGE_BITS * edges
    worth = sum(max(value, 0) for value in gain.values()) >= MIN_GAIN_BITS
    kept = [i for i, key in enumerate(found.keys) if worth and gain[key] > 0]
    boxes = np.array([found.boxes[i] for i in kept], np.int64).reshape(-1, 4)
    class_of: dict[tuple, int] = {}
    shapes, rows = [], []
    for j in reading_order(boxes):
        key = found.keys[kept[j]]
        if key not in class_of:
            class_of[key] = len(shapes)
            height, width, packed = key
            shapes.append(np.unpackbits(np.frombuffer(packed, np.uint8))[: height * width].reshape(height, width))
        rows.append((class_of[key], boxes[j, 0], boxes[j, 1]))
    return Symbols(shapes, np.array(rows, np.int64).reshape(-1, 3))


def find_symbols(page: np.ndarray, placement_bits: float = PLACEMENT_BITS) -> Symbols:
    """The classes of ``page``'s recurring components worth a dictionary entry, and where they lie."""
    return select_symbols(page_components(page), placement_bits)
