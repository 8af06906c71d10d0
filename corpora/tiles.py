"""Cutting bilevel images into fixed-size tiles for training and evaluation."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from darncodec.imageio import iter_inputs


def cut_tiles(
    bits: np.ndarray, tile_h: int, tile_w: int, stride: int | tuple[int, int] | None = None
) -> np.ndarray:
    """Cut a 2-D image into (N, tile_h, tile_w) tiles, in row-major order of their positions.

    Tiles start at multiples of ``stride`` (an int, a (row, column) pair, or by default the
    tile size, i.e. non-overlapping) until a tile reaches the image's edge; parts of the last
    row and column of tiles that fall outside the image are padded with 0 (white).
    """
    if bits.ndim != 2:
        raise ValueError(f"expected a 2-D image, got shape {bits.shape}")
    if stride is None:
        stride = (tile_h, tile_w)
    step_h, step_w = (stride, stride) if isinstance(stride, int) else stride
    if min(tile_h, tile_w, step_h, step_w) < 1:
        raise ValueError("tile sizes and strides must be positive")
    rows = _positions(bits.shape[0], tile_h, step_h)
    cols = _positions(bits.shape[1], tile_w, step_w)
    padded = np.zeros(((rows - 1) * step_h + tile_h, (cols - 1) * step_w + tile_w), np.uint8)
    padded[: bits.shape[0], : bits.shape[1]] = bits
    windows = sliding_window_view(padded, (tile_h, tile_w))[::step_h, ::step_w]
    return windows.reshape(-1, tile_h, tile_w)


def _positions(length: int, tile: int, step: int) -> int:
    """How many tiles, ``step`` apart from 0, it takes for one to reach ``length``."""
    return 1 + max(0, -(-(length - tile) // step))


def folder_tiles(
    paths: list[str],
    tile_h: int,
    tile_w: int,
    max_tiles: int | None = None,
    seed: int = 0,
    skip_blank: bool = False,
    threshold: float | None = None,
) -> np.ndarray:
    """Non-overlapping tiles of every image named by ``paths`` as (N, tile_h, tile_w) uint8.

    ``paths`` is read with :func:`darncodec.imageio.iter_inputs` (files, folders, ``.npz``;
    ``threshold`` binarizes grey images). ``skip_blank`` drops tiles without ink. With
    ``max_tiles``, a uniform random subset of that size (fixed by ``seed``) is kept, in input
    order; images are read one at a time, so memory stays near ``max_tiles`` tiles.
    """
    if max_tiles is not None and max_tiles < 1:
        raise ValueError(f"max_tiles must be positive, got {max_tiles}")
    rng = np.random.default_rng(seed)
    tiles = [np.zeros((0, tile_h, tile_w), np.uint8)]
    keys = [np.zeros(0)]  # random sort keys: the subset is the max_tiles smallest keys
    count = 0
    for _, bits in iter_inputs(paths, threshold):
        cut = cut_tiles(bits, tile_h, tile_w)
        if skip_blank:
            cut = cut[cut.any(axis=(1, 2))]
        tiles.append(cut)
        keys.append(rng.random(len(cut)))
        count += len(cut)
        if max_tiles is not None and count > 2 * max_tiles:
            tiles, keys = _smallest_keys(tiles, keys, max_tiles)
            count = max_tiles
    all_tiles, all_keys = np.concatenate(tiles), np.concatenate(keys)
    if max_tiles is None or len(all_tiles) <= max_tiles:
        return all_tiles
    return _smallest_keys([all_tiles], [all_keys], max_tiles)[0][0]


def _smallest_keys(
    tiles: list[np.ndarray], keys: list[np.ndarray], keep: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Keep the ``keep`` tiles with the smallest keys, in their original order."""
    all_tiles, all_keys = np.concatenate(tiles), np.concatenate(keys)
    chosen = np.sort(np.argpartition(all_keys, keep - 1)[:keep])
    return [all_tiles[chosen]], [all_keys[chosen]]
