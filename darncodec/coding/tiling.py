"""Cutting an image into the model's tiles and putting it back together (the coding path's view).

Tiles are non-overlapping, in raster order; the last row and column of tiles are padded with white.
The mask marks the pixels that belong to the image: only those are coded.
"""

from __future__ import annotations

import numpy as np


def tile_grid(height: int, width: int, tile_h: int, tile_w: int) -> tuple[int, int]:
    return -(-height // tile_h), -(-width // tile_w)


def to_tiles(bits: np.ndarray, tile_h: int, tile_w: int, dtype=np.int64) -> tuple[np.ndarray, np.ndarray]:
    """(tiles, tile_h*tile_w) pixels (``dtype``) and the matching boolean mask of real pixels."""
    return _cut(bits, bits.shape, tile_h, tile_w, dtype), tile_masks(*bits.shape, tile_h, tile_w)


def tile_masks(height: int, width: int, tile_h: int, tile_w: int) -> np.ndarray:
    """The mask of ``to_tiles`` from the image size alone (what the decoder knows)."""
    return _cut(True, (height, width), tile_h, tile_w, bool)


def _cut(image: np.ndarray | bool, shape: tuple[int, int], tile_h: int, tile_w: int, dtype) -> np.ndarray:
    """``image`` (an array of ``shape``, or one value filling it) padded with 0 and cut into tiles."""
    rows, cols = tile_grid(*shape, tile_h, tile_w)
    padded = np.zeros((rows * tile_h, cols * tile_w), dtype)
    padded[: shape[0], : shape[1]] = image
    return padded.reshape(rows, tile_h, cols, tile_w).transpose(0, 2, 1, 3).reshape(rows * cols, -1)


def from_tiles(tiles: np.ndarray, height: int, width: int, tile_h: int, tile_w: int) -> np.ndarray:
    rows, cols = tile_grid(height, width, tile_h, tile_w)
    image = tiles.reshape(rows, cols, tile_h, tile_w).transpose(0, 2, 1, 3).reshape(rows * tile_h, cols * tile_w)
    return image[:height, :width].astype(np.uint8, copy=False)


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


GROUP_TILES = 64   # adaptive coding: an image of at least this many tiles is a group of its own


def adaptive_groups(tiles_per_image: list[int]) -> list[list[int]]:
    """The images (indices) of each group of adaptive coding, whose counts start afresh in every group.

    A group is an image of at least GROUP_TILES tiles, or a run of consecutive smaller images (the
    10,000 digits of an MNIST archive are one group), so a page never inherits another page's
    statistics."""
    groups: list[list[int]] = []
    for image, count in enumerate(tiles_per_image):
        if groups and count < GROUP_TILES and tiles_per_image[groups[-1][-1]] < GROUP_TILES:
            groups[-1].append(image)
        else:
            groups.append([image])
    return groups


def adaptive_schedule(tiles_per_image: list[int], max_batch: int) -> list[tuple[int, int, int]]:
    """(start, stop, group) of the batches of adaptive coding (groups: ``adaptive_groups``).

    Batches never span groups. The first group is batched as ``batch_schedule`` does (bits back
    needs a coder that already holds bits); later groups find the coder full and are cut into
    batches of ``max_batch`` tiles.
    """
    bounds, start = [], 0
    for group, images in enumerate(adaptive_groups(tiles_per_image)):
        size = sum(tiles_per_image[i] for i in images)
        cuts = batch_schedule(size, max_batch) if group == 0 else \
            [(a, min(a + max_batch, size)) for a in range(0, size, max_batch)]
        bounds += [(start + a, start + b, group) for a, b in cuts]
        start += size
    return bounds
