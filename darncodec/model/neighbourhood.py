"""Causal neighbourhoods of a pixel inside a tile (paper section 2.2), shared by training and coding."""

from __future__ import annotations

import numpy as np


def causal_offsets(radius: int) -> list[tuple[int, int]]:
    """Offsets (dy, dx) of the pixels that come before (0, 0) in raster order, within ``radius``:
    the ``radius`` rows above (columns -radius..radius) and the ``radius`` pixels to the left."""
    rows_above = [(dy, dx) for dy in range(-radius, 0) for dx in range(-radius, radius + 1)]
    return rows_above + [(0, dx) for dx in range(-radius, 0)]


def neighbour_index(height: int, width: int, radius: int) -> np.ndarray:
    """(height*width, K) indices of each pixel's causal neighbours in the flattened tile.

    Neighbours outside the tile point at index height*width, a constant-zero column that callers
    append to the pixels, so every pixel has the same K neighbours and a border reads as white.
    """
    offsets = causal_offsets(radius)
    y, x = np.divmod(np.arange(height * width), width)
    index = np.empty((height * width, len(offsets)), dtype=np.int64)
    for k, (dy, dx) in enumerate(offsets):
        ny, nx = y + dy, x + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        index[:, k] = np.where(inside, ny * width + nx, height * width)
    return index


def table_columns(radius: int, pixels: int) -> np.ndarray:
    """Which of ``causal_offsets(radius)`` index a context table: the ``pixels`` nearest to (0, 0)
    (by squared distance, ties in raster order); the first is bit 0 of the table index."""
    offsets = causal_offsets(radius)
    nearest = sorted(range(len(offsets)), key=lambda k: (offsets[k][0] ** 2 + offsets[k][1] ** 2, k))
    return np.array(nearest[:pixels], dtype=np.int64)


def kernel_count(pixels: int, shared: bool, period: int) -> int:
    """How many kernels a local layer over ``pixels`` positions has: one (``shared``, a convolution),
    period x period (periodic local connectivity) or one per position (locally connected)."""
    return 1 if shared else period * period if period else pixels


def periodic_rows(height: int, width: int, period: int) -> np.ndarray:
    """The kernel of each pixel under periodic local connectivity (Gregor & LeCun 2010, as the
    paper's section 2.2 uses it): that of (y mod period, x mod period)."""
    y, x = np.divmod(np.arange(height * width), width)
    return (y % period) * period + x % period
