"""Cutting an image into the model's tiles and putting it back together (the coding path's view).

Tiles are non-overlapping, in raster order; the last row and column of tiles are padded with white.
The mask marks the pixels that belong to the image: only those are coded.
"""

from __future__ import annotations

import numpy as np


def tile_grid(height: int, width: int, tile_h: int, tile_w: int) -> tuple[int, int]:
    return -(-height // tile_h), -(-width // tile_w)


def to_tiles(bits: np.ndarray, tile_h: int, tile_w: int) -> tuple[np.ndarray, np.ndarray]:
    """(tiles, tile_h*tile_w) int64 pixels and the matching boolean mask of real pixels."""
    rows, cols = tile_grid(*bits.shape, tile_h, tile_w)

    def cut(image: np.ndarray, dtype) -> np.ndarray:
        padded = np.zeros((rows * tile_h, cols * tile_w), dtype)
        padded[: bits.shape[0], : bits.shape[1]] = image
        return padded.reshape(rows, tile_h, cols, tile_w).transpose(0, 2, 1, 3).reshape(rows * cols, -1)

    return cut(bits, np.int64), cut(np.ones(bits.shape, bool), bool)


def tile_masks(height: int, width: int, tile_h: int, tile_w: int) -> np.ndarray:
    """The mask of ``to_tiles`` from the image size alone (what the decoder knows)."""
    return to_tiles(np.zeros((height, width), np.uint8), tile_h, tile_w)[1]


def from_tiles(tiles: np.ndarray, height: int, width: int, tile_h: int, tile_w: int) -> np.ndarray:
    rows, cols = tile_grid(height, width, tile_h, tile_w)
    image = tiles.reshape(rows, cols, tile_h, tile_w).transpose(0, 2, 1, 3).reshape(rows * tile_h, cols * tile_w)
    return image[:height, :width].astype(np.uint8)


def batch_schedule(tiles: int, max_batch: int) -> list[tuple[int, int]]:
    """(start, stop) of the batches: 1, 1, 2, 4, ... tiles, doubling up to ``max_batch``.

    Each batch's bits back are popped from what the batches before it pushed, so starting small
    means only the first tile finds an empty coder (and gets no bits back).
    """
    bounds, start, size = [], 0, 1
    while start < tiles:
        stop = min(start + size, tiles)
        bounds.append((start, stop))
        if start > 0:
            size = min(2 * size, max_batch)
        start = stop
    return bounds
