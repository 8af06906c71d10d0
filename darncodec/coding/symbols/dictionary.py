"""A page's dictionary and placements through the stack (coder id 4), after its pixels.

The encoder pushes, after the page's batches and flags: the placements, the dictionary sheet (a
group of the mixing coder of its own, with its flags), then the classes' sizes; the decoder pops
them in the reverse order (sizes, sheet, placements), so it knows the predicted page before it
decodes a pixel of the page.
"""

from __future__ import annotations

import numpy as np

from darncodec.coding.ans.streams import pop_flags, push_flags
from darncodec.coding.bitsback import BitsBackCodec
from darncodec.coding.groups import Coder, pop_group, push_group
from darncodec.coding.mixing.raster import RasterContexts
from darncodec.coding.network.integer_model import IntegerDARN
from darncodec.coding.symbols import sheet
from darncodec.coding.symbols.components import MIN_AREA, Symbols, page_components, select_symbols
from darncodec.coding.symbols.placements import (MAX_PLACEMENTS, decode_placements, decode_sizes, encode_placements,
                                                 encode_sizes)
from darncodec.coding.tiling import batch_schedule, from_tiles, tile_masks, to_tiles
from darncodec.errors import FormatError


def choose_symbols(page: np.ndarray, prob_table: np.ndarray) -> Symbols:
    """The encoder's dictionary for a page: classes chosen with a guess of what a placement costs,
    then again with what the chosen placements do cost (scans' irregular positions cost more than
    clean text's)."""
    found = page_components(page)
    symbols = select_symbols(found)
    if len(symbols.placements):
        cost = encode_placements(symbols.sizes, symbols.placements, prob_table).cost()
        symbols = select_symbols(found, cost / len(symbols.placements))
    return symbols


class SheetCoder:
    """A page's symbols: the dictionary sheet coded by the mixing coder (coder 3's, no prediction)
    with the glyph model (a DARN whose tiles hold the glyphs), the sizes and placements by
    placements.py's models (``prob_table``: the page model's, their mixer's squash)."""

    def __init__(self, glyphs: IntegerDARN, prob_table: np.ndarray, max_batch: int) -> None:
        self.codec, self.prob_table, self.max_batch = BitsBackCodec(glyphs), prob_table, max_batch
        self.tile = (glyphs.config.height, glyphs.config.width)

    def _geometry(self, sizes: np.ndarray) -> tuple[tuple[int, int], np.ndarray, list[tuple[int, int]]]:
        """The sheet's shape, its tiles' masks (only pixels inside a class's box are coded), batches."""
        corners, shape = sheet.layout(sizes, *self.tile)
        inside = to_tiles(sheet.box_mask(sizes, corners, shape), *self.tile)[0].astype(bool)
        masks = tile_masks(*shape, *self.tile) & inside
        return shape, masks, batch_schedule(len(masks), self.max_batch)

    def _contexts(self, shape: tuple[int, int]) -> RasterContexts:
        contexts = RasterContexts(*self.tile, self.codec.model.prob_table)
        contexts.enter_group(0, [shape], 0)
        return contexts

    def push(self, coder: Coder, symbols: Symbols) -> tuple[Coder, float]:
        """Push placements, sheet and sizes; returns (coder, their cost in bits)."""
        sizes = symbols.sizes
        cost = 0.0
        if len(sizes):
            recorded = encode_placements(sizes, symbols.placements, self.prob_table)
            recorded.push(coder)
            coder, sheet_cost = self.push_sheet(coder, symbols.shapes)
            cost += recorded.cost() + sheet_cost
        recorded = encode_sizes(sizes)
        recorded.push(coder)
        return coder, cost + recorded.cost()

    def push_sheet(self, coder: Coder, shapes: list[np.ndarray]) -> tuple[Coder, float]:
        """Push the dictionary sheet of ``shapes`` (at least one) and its flags; returns (coder, bits)."""
        sizes = np.array([shape.shape for shape in shapes], np.int64)
        shape, masks, batches = self._geometry(sizes)
        image, _ = sheet.draw(shapes, *self.tile)
        tiles = to_tiles(image, *self.tile)[0]
        coder, costs, flags, latents = push_group(coder, self.codec, self._contexts(shape), tiles, masks, batches,
                                                  page=False, first_in_archive=False, choose_darn=True)
        push_flags(coder, flags + latents)
        return coder, float(costs.sum()) + 2 * len(batches)

    def pop(self, coder: Coder, page: tuple[int, int]) -> tuple[Symbols, Coder]:
        """The symbols of a page of shape ``page``, which bounds how many placements it can hold and
        where (a placement outside it is damage)."""
        sizes, coder = decode_sizes(coder)
        if not len(sizes):
            return Symbols([], np.zeros((0, 3), np.int64)), coder
        shape, masks, batches = self._geometry(sizes)
        flags = pop_flags(coder, 2 * len(batches))
        tiles, coder = pop_group(coder, self.codec, self._contexts(shape), masks, batches, flags[:len(batches)],
                                 flags[len(batches):])
        shapes = sheet.cut(from_tiles(tiles, *shape, *self.tile), sizes, *self.tile)
        most = min(page[0] * page[1] // (2 * MIN_AREA), MAX_PLACEMENTS)
        placements, coder = decode_placements(coder, sizes, self.prob_table, most)
        ends = placements[:, 1:] + sizes[placements[:, 0]]
        if len(placements) and (placements[:, 1:].min() < 0 or (ends > np.array(page)).any()):
            raise FormatError("damaged .darn payload (symbol stage: a placement outside its page)")
        return Symbols(shapes, placements), coder
