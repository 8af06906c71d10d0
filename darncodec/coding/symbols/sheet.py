"""The dictionary sheet: the classes' bitmaps drawn on a grid of the sheet model's tiles.

Each class takes a block of ceil(height / th) x ceil(width / tw) tiles, its bitmap at the block's
top-left corner; blocks are packed in class order on shelves SHEET_TILES tiles wide (a shelf as
tall as its tallest block). Both sides derive the layout from the classes' sizes alone, and only
the pixels inside a class's box are coded (the rest of the sheet is known to be white).
"""

from __future__ import annotations

import numpy as np

SHEET_TILES = 16   # shelf width in tiles (wider blocks get a shelf of their own width)


def layout(sizes: np.ndarray, tile_h: int, tile_w: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(top, left) in pixels of each class's block on the sheet, and the sheet's (height, width)."""
    blocks_h = -(-sizes[:, 0] // tile_h)
    blocks_w = -(-sizes[:, 1] // tile_w)
    width = max(SHEET_TILES, int(blocks_w.max(initial=1)))
    corners = np.zeros((len(sizes), 2), np.int64)
    shelf, column, shelf_height = 0, 0, 0
    for c in range(len(sizes)):
        if column + blocks_w[c] > width:
            shelf, column, shelf_height = shelf + shelf_height, 0, 0
        corners[c] = (shelf * tile_h, column * tile_w)
        column += int(blocks_w[c])
        shelf_height = max(shelf_height, int(blocks_h[c]))
    return corners, ((shelf + shelf_height) * tile_h, width * tile_w)


def draw(shapes: list[np.ndarray], tile_h: int, tile_w: int) -> tuple[np.ndarray, np.ndarray]:
    """The sheet image (0/1) and its mask of coded pixels (inside a class's box)."""
    sizes = np.array([s.shape for s in shapes], np.int64).reshape(-1, 2)
    corners, shape = layout(sizes, tile_h, tile_w)
    image = np.zeros(shape, np.uint8)
    for (top, left), bitmap in zip(corners, shapes):
        image[top:top + bitmap.shape[0], left:left + bitmap.shape[1]] = bitmap
    return image, box_mask(sizes, corners, shape)


def box_mask(sizes: np.ndarray, corners: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, bool)
    for (top, left), (height, width) in zip(corners, sizes):
        mask[top:top + height, left:left + width] = True
    return mask


def cut(image: np.ndarray, sizes: np.ndarray, tile_h: int, tile_w: int) -> list[np.ndarray]:
    """The classes' bitmaps back from a decoded sheet."""
    corners, _ = layout(sizes, tile_h, tile_w)
    return [image[top:top + h, left:left + w].copy() for (top, left), (h, w) in zip(corners, sizes)]
