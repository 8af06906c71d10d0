"""Stroke contexts (coder id 7): ten more count models for page raster order, and four mixers.

A scanned page is made of strokes with noisy edges. Coder 3's nested templates see a pixel's
nearest causal neighbours as one exact pattern, so an edge that wanders by a pixel is a new pattern,
and a stroke is learned again wherever its neighbourhood differs a little. These models describe
the same neighbourhood by what strokes do (docs/format.md, "Coder id 7", gives every key):

- ``REF_LINE``: where the current run of its colour began, and the signed distances from the pixel
  to the next two colour changes of the row above after that point (the vertical mode of CCITT
  T.4/T.6: an edge tends to continue where it ended on the row above), with the run's length,
  its colour and the pixel above;
- ``COLUMNS``: how far the colour of each of the three pixels above (up-left, up, up-right) runs
  up its column (1 to 15), with those three pixels and the pixel to the left;
- ``BLUR``: the 12 rows above, columns -8 to +9, merged into 2 x 2 cells (a cell is ink where any of
  its four pixels is: six rows of nine cells), with the two pixels to the left: two prints of the
  same letter that differ by a pixel at their edges share this context;
- ``ROW_LEFT``: the 25 pixels to the left on the current row, with the nearer distance of the
  reference line and the pixel above;
- ``DIAGONALS``: how far the colours of the up-left and up-right pixels run along their diagonals,
  and of the pixel above up its column, with the four nearest pixels;
- ``ABOVE``, ``ABOVE_2``: the row above (and the one above it) read 33 pixels wide;
- ``RUNS``: the lengths of the current run and the two before it on the row (within 32 pixels),
  with the reference line's nearer change and the pixels around;
- ``ERODED``: the 8 rows above in 2 x 2 cells as ``BLUR``, but a cell is ink only where all four
  of its pixels are: where ink surely is, so that a stroke's body matches whatever its edges do;
- ``EDGE``: the two rows above in 13 overlapping 2 x 2 cells, each both dilated and eroded: where
  ink surely is, surely is not, and the uncertain edge between.

Each key is hashed into its model's 2**22 count slots (``tiled.GOLDEN``), as coder 3's large
templates are. Four more mixers (``mixer_rows``) choose their weight sets by the reference line,
the column runs, the diagonals and both reference-line distances, and a third APM reads the
reference line's row. The models read
up to 15 rows above and 33 columns either side: a page's canvas for coder 7 has that much white
margin (``MARGIN_ROWS``, ``MARGIN_COLS``). They work only where coder 3 finds ink near the pixel
(its 8 x 8 ink flags within R): elsewhere (blank paper, most of a page) their inputs are 0, their
counts rest, and the stroke mixers and APM sit out.
"""

from __future__ import annotations

import numba
import numpy as np

from darncodec.coding.jit import loop
from darncodec.coding.mixing import tiled

REF_LINE, COLUMNS, BLUR, ROW_LEFT, DIAGONALS, ABOVE, ABOVE_2, RUNS, ERODED, EDGE = range(10)
MODELS = 10
MARGIN_ROWS, MARGIN_COLS = 16, 33   # the canvas margin the models need (rows above, columns either side)
SCAN = 32          # the reference line is searched from the run's start to 32 columns ahead
RUN_LIMIT = 32     # a run is followed at most 32 pixels to the left
COLUMN_LIMIT = 15  # a column's run at most 15 rows up
BLUR_ROWS, BLUR_CELLS, BLUR_LEFT = 6, 9, 8   # 6 x 9 cells of 2 x 2 pixels, from column -8
ERODED_ROWS = 4    # the eroded cells: 4 x 9 (8 rows)
EDGE_REACH = 6     # the edge band: cells from column -6 to +6, each over columns c and c + 1
LEFT_PIXELS = 25
WIDE = 16          # the wide rows: columns -16 to +16
NONE = 1 << 30     # no colour change within reach


@numba.njit(cache=True, inline="always")
def _distance_bucket(d):
    """A signed distance in 32 steps: one per pixel from -8 to 8, coarser beyond; 31: none."""
    if d == NONE:
        return 31
    if -8 <= d <= 8:
        return d + 12
    if d < 0:
        return 3 if d >= -16 else (2 if d >= -32 else 1)
    return 21 if d <= 16 else (22 if d <= 32 else 23)


@numba.njit(cache=True, inline="always")
def _run_bucket(n):
    """A run length in 16 steps: exact below 8, coarser beyond."""
    if n < 8:
        return n
    return 8 if n < 10 else (9 if n < 12 else (10 if n < 16 else (11 if n < 20 else (12 if n < 24 else (
        13 if n < 28 else (14 if n < 32 else 15))))))


@numba.njit(cache=True, inline="always")
def _run_along(canvas, at, step, limit):
    """How many cells from ``at`` (inclusive) on, ``step`` apart, have the colour of ``at``, at most
    ``limit``."""
    colour, k = canvas[at], 1
    while k < limit and canvas[at + k * step] == colour:
        k += 1
    return k


@numba.njit(cache=True, inline="always")
def _cell_ink(canvas, a, stride):
    """How many of the 2 x 2 cells at ``a``, ``a + 1`` and the row below them are ink (0 .. 4)."""
    return np.int64(canvas[a]) + canvas[a + 1] + canvas[a + stride] + canvas[a + stride + 1]


@numba.njit(cache=True, inline="always")
def _bits(canvas, start, count):
    """The ``count`` cells from ``start`` on as a binary number, the first most significant."""
    value = np.int64(0)
    for b in range(count):
        value = value * 2 + canvas[start + b]
    return value


@loop
def stroke_keys(canvas, at, stride, keys):
    """keys[0:MODELS]: the models' keys for the pixel at canvas index ``at`` (the module docstring)."""
    west, north = np.int64(canvas[at - 1]), np.int64(canvas[at - stride])
    run = 1
    while run < RUN_LIMIT and canvas[at - 1 - run] == west:
        run += 1
    above = at - stride
    first, second, q = NONE, NONE, -run
    while q <= SCAN:   # the row above changes away from the run's colour (b1), then back (b2)
        if canvas[above + q] != west and canvas[above + q - 1] == west:
            first = -q
            q += 1
            while q <= SCAN:
                if canvas[above + q] == west and canvas[above + q - 1] != west:
                    second = -q
                    break
                q += 1
            break
        q += 1
    near = _distance_bucket(first)
    keys[REF_LINE] = ((near * 32 + _distance_bucket(second)) * 16 + _run_bucket(run)) * 4 + west * 2 + north
    columns = np.int64(0)
    for dx in (-1, 0, 1):
        columns = columns * 16 + _run_along(canvas, above + dx, -stride, COLUMN_LIMIT)
    keys[COLUMNS] = (columns * 8 + canvas[above - 1] * 4 + canvas[above + 1] * 2 + north) * 2 + west
    cells, eroded = np.int64(0), np.int64(0)
    for r in range(BLUR_ROWS):
        upper = at - (2 * r + 2) * stride - BLUR_LEFT
        for c in range(BLUR_CELLS):
            ink = _cell_ink(canvas, upper + 2 * c, stride)
            cells = cells * 2 + (ink > 0)
            if r < ERODED_ROWS:
                eroded = eroded * 2 + (ink == 4)
    keys[BLUR] = (cells * 2 + west) * 2 + canvas[at - 2]
    keys[ROW_LEFT] = (_bits(canvas, at - LEFT_PIXELS, LEFT_PIXELS) * 32 + near) * 2 + north
    up_left, up_right = _run_along(canvas, above - 1, -stride - 1, 7), _run_along(canvas, above + 1, -stride + 1, 7)
    corners = ((canvas[above - 1] * 2 + canvas[above + 1]) * 2 + north) * 2 + west
    keys[DIAGONALS] = ((up_left * 8 + up_right) * 8 + _run_along(canvas, above, -stride, 7)) * 16 + corners
    wide = 2 * WIDE + 1
    keys[ABOVE] = ((_bits(canvas, above - WIDE, wide) * 2 + west) * 2 + canvas[at - 2]) * 2 + canvas[at - 3]
    keys[ABOVE_2] = ((_bits(canvas, above - stride - WIDE, wide) << 9) + _bits(canvas, above - 4, 9)) * 2 + west
    before = 0   # the run before the current one (the other colour), then the one before that
    while run + before < RUN_LIMIT and canvas[at - 1 - run - before] != west:
        before += 1
    earlier = 0
    while before > 0 and run + before + earlier < RUN_LIMIT and canvas[at - 1 - run - before - earlier] == west:
        earlier += 1
    keys[RUNS] = ((((_run_bucket(run) * 16 + _run_bucket(before)) * 16 + _run_bucket(earlier)) * 32 + near) * 8
                  + canvas[above - 1] * 4 + north * 2 + canvas[above + 1]) * 2 + west
    keys[ERODED] = ((eroded * 2 + west) * 2 + north) * 2 + canvas[at - 2]
    grown, shrunk, upper = np.int64(0), np.int64(0), at - 2 * stride
    for c in range(-EDGE_REACH, EDGE_REACH + 1):
        ink = _cell_ink(canvas, upper + c, stride)
        grown = grown * 2 + (ink > 0)
        shrunk = shrunk * 2 + (ink == 4)
    keys[EDGE] = ((((grown << (2 * EDGE_REACH + 1)) + shrunk) * 2 + canvas[at - 2]) * 2 + west) * 2 + north


@numba.njit(cache=True, inline="always")
def stroke_slots(canvas, stride, at, offsets, first, keys, slots):
    """keys and slots[0, first:first + MODELS]: the models' keys and count slots (``offsets``:
    every model's first slot)."""
    stroke_keys(canvas, at, stride, keys)
    for m in range(MODELS):
        hashed = (np.uint64(keys[m]) * np.uint64(tiled.GOLDEN)) >> np.uint64(64 - tiled.HASH_BITS)
        slots[0, first + m] = offsets[first + m] + np.int64(hashed)


MIXER_SETS = (2048, 4096, 8192, 4096)   # weight sets of the four stroke mixers (coding.mixing.raster)
APM_ROWS = 2048                   # rows of the stroke APM: the reference-line mixer's selector


@numba.njit(cache=True, inline="always")
def mixer_rows(keys, base, rows):
    """rows[m]: the weight row of stroke mixer m (the sets of mixer m start at base + the sum of
    MIXER_SETS before it), chosen by: the reference line (the nearer change's bucket, the run's
    bucket, the pixel to the left and the one above), the three column runs, the diagonals' key,
    both changes' buckets (with the pixel to the left and the one above)."""
    ref = keys[REF_LINE]
    rows[0] = base + ((ref >> 11) * 16 + ((ref >> 2) & 15)) * 4 + (ref & 3)
    rows[1] = base + MIXER_SETS[0] + (keys[COLUMNS] >> 4)
    rows[2] = base + MIXER_SETS[0] + MIXER_SETS[1] + keys[DIAGONALS]
    rows[3] = base + MIXER_SETS[0] + MIXER_SETS[1] + MIXER_SETS[2] + (ref >> 6) * 4 + (ref & 3)
