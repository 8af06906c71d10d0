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


def window_taps(inputs: tuple[int, int, int], outputs: tuple[int, int], kernel: int) -> np.ndarray:
    """(positions of ``outputs``, kernel*kernel*channels) indices into a flattened grid ``inputs`` =
    (height, width, channels), laid out position-major (index = (row * width + column) * channels +
    channel): the kernel x kernel window of a locally connected layer (section 2.2) around the input
    position under each output position (the output grid spread evenly over the input grid: a
    stride where the output is smaller, a repeat where it is larger). Taps outside the input point
    at index height*width*channels, a constant-zero column that callers append."""
    height, width, channels = inputs
    out_h, out_w = outputs
    centre_y = (2 * np.arange(out_h) + 1) * height // (2 * out_h)
    centre_x = (2 * np.arange(out_w) + 1) * width // (2 * out_w)
    offsets = np.arange(kernel) - kernel // 2
    y = centre_y[:, None, None, None, None] + offsets[None, None, :, None, None]          # (oh, 1, k, 1, 1)
    x = centre_x[None, :, None, None, None] + offsets[None, None, None, :, None]          # (1, ow, 1, k, 1)
    c = np.arange(channels)[None, None, None, None, :]
    inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
    taps = np.where(inside, (y * width + x) * channels + c, height * width * channels)
    return taps.reshape(out_h * out_w, kernel * kernel * channels).astype(np.int64)


def shared_windows(taps: np.ndarray, classes: np.ndarray, channels: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Output positions of a locally connected layer grouped by their window (window_taps; where the
    output grid is finer than the input grid, several positions read the same window), so that each
    window is read once and multiplied by the kernels of all its positions at once: the distinct
    windows (U, taps), the kernel class of each group's members (U, Q) with -1 where a group has
    fewer than Q members, and where output (position, channel) lies in the flattened (U, Q, channels)
    products."""
    windows, inverse = np.unique(taps, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    counts = np.bincount(inverse, minlength=len(windows))
    order = np.argsort(inverse, kind="stable")
    slot = np.empty(len(taps), np.int64)
    slot[order] = np.arange(len(taps)) - (np.cumsum(counts) - counts)[inverse[order]]
    members = np.full((len(windows), counts.max()), -1, np.int64)
    members[inverse, slot] = classes
    place = ((inverse * counts.max() + slot)[:, None] * channels + np.arange(channels)).reshape(-1)
    return windows, members, place
