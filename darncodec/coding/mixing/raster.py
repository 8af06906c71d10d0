"""Page-adaptive mixing in page raster order (coder id 3; coder id 4 adds refinement by a predicted
page, coder id 7 the stroke models of coding.mixing.strokes, the default for pages without a
dictionary): contexts that cross tile borders (docs/format.md, "Coder id 3", "Coder id 7").

The count estimates and mixer of coding.mixing.tiled (coder id 2), but the pixels of a batch are coded
in the raster order of the page rather than position by position across tiles. A batch's tiles are
cut into strips (the tiles of one tile row of one image); a strip is coded one page row at a time,
each row left to right across the strip's tiles. Every pixel's count contexts are then read from the
page itself (the ``canvas``): its 10, 16, 30, 44, 60, 90 and 140 nearest causal neighbours within
radius 9, whichever tile they lie in. A neighbour that is not decoded yet (in a batch the decoder
reaches later, or outside the image) reads as white on both sides, because both write a pixel into
the canvas only once it is coded.

The DARN's logit is still the tile's own (Eq. 8-10 of the paper, on the integer grid); only the
count models see across borders. The mixer learns from every pixel in turn (a gradient step of the
code length, error * input * MIX_RATE / 2**26), and two APMs (adaptive probability maps, as in
PAQ) refine its output; both start afresh in every batch, as coder 2's mixer does, because they
depend on the h that bits back pops.

Decoding needs one ANS pop per pixel inside a numba loop: coding.ans.kernel is a port of constriction's
AnsCoder pop that leaves the stack exactly as constriction would.

numba caches compiled kernels per source file, and these kernels compile coding.mixing.tiled's and
coding.mixing.strokes's helpers and constants into themselves: after editing tiled.py or strokes.py,
delete the __pycache__ folders (a fresh install or clone has none).
"""

from __future__ import annotations

import numba
import numpy as np

from darncodec.coding.ans.kernel import pop_bit, to_coder, to_stack
from darncodec.coding.ans.streams import chunks_last_first, push_in_order
from darncodec.coding.jit import loop
from darncodec.coding.mixing import strokes, tiled
from darncodec.coding.mixing.tiled import CountTables
from darncodec.coding.network.fixed_point import GRID_SHIFT, PROB_BITS, TABLE_HALF
from darncodec.coding.network.integer_model import _local_logit
from darncodec.model.neighbourhood import causal_offsets, table_columns

CONTEXT_PIXELS = (10, 16, 30, 44, 60, 90, 140)   # the nested context models: nearest causal neighbours ...
R = 9                                             # ... within this radius (the page has room for them)
MIX_RATE = 48          # per-pixel mixer step: error * input * 48 / 2**26
APM_STEP_BITS = 7      # the APM's nodes lie every 128 grid steps (1 logit) from -16 to 16 ...
APM_STEP_MASK = (1 << APM_STEP_BITS) - 1
APM_POINTS = 2 * TABLE_HALF // (1 << APM_STEP_BITS) + 1
APM_RATE_SHIFT = 13    # ... move by 1/64 of their error per pixel (times their interpolation share) ...
APM_PIXELS = CONTEXT_PIXELS[0]   # the first APM: a row per pattern of the 10 nearest pixels and mixer bucket
FAR_FEATURES = 256     # ... and where those 10 are white, a row per far feature (_far) instead
PATTERNS = (1 << APM_PIXELS) + FAR_FEATURES   # the second mixer has a weight set per pattern
APM_ROWS = PATTERNS * tiled.BUCKETS
NO_LINE = -(1 << 40)   # a canvas row or column without ink (or start) yet
LEVEL_MODEL = 2        # the second APM: a row per level of the 30-pixel model's estimate (64 grid steps each) ...
LEVEL_BITS = 6
LEVELS = 2 * TABLE_HALF // (1 << LEVEL_BITS) + 1
NEAR_PIXELS = 4        # ... and pattern of the 4 nearest pixels
STROKE_APM = APM_ROWS + LEVELS * (1 << NEAR_PIXELS)   # coder 7's third APM: its first row
BLOCK = 8              # the canvas keeps a flag per 8 x 8 block: has any ink been written there
# Refinement by the predicted page (coder id 4, coding.symbols): where a placed class covers a pixel
# (its box grown by COVER_MARGIN), two more context models read the predicted page around the pixel,
# below and to the right included (the decoder knows all of it), with the pixel's causal neighbours.
PREDICTED_INK, COVERED = 1, 2     # the bits of a cell of the predicted canvas
COVER_MARGIN = 2
REFINE_PREDICTED = ((0, 0), (0, -1), (0, 1), (-1, 0), (1, 0), (-1, -1), (-1, 1), (1, -1), (1, 1), (0, 2))
REFINE_CAUSAL = ((0, -1), (-1, 0), (-1, -1), (-1, 1), (0, -2), (-2, 0))
REFINE_WIDE = tuple((dy, dx) for dy in range(-2, 3) for dx in range(-2, 3))   # predicted, with ...
REFINE_WIDE_CAUSAL = 16                                                       # ... the nearest causal cells
REFINE_PIXELS = (len(REFINE_PREDICTED) + len(REFINE_CAUSAL), len(REFINE_WIDE) + REFINE_WIDE_CAUSAL)
REFINE_ROWS = 12       # the first mixer's weight sets for covered pixels: count level x predicted ink


@loop
def _slots_at(canvas, at, relative, sizes, offsets, slots):
    """slots[0, i]: the count slot of context model i for the pixel at canvas index ``at``
    (the pattern of its sizes[i] nearest causal neighbours, as coder 2 forms it)."""
    chained, word, i = np.uint64(0), np.uint64(0), 0
    for b in range(relative.shape[0]):
        word |= np.uint64(canvas[at + relative[b]]) << np.uint64(b % tiled.WORD_BITS)   # no branch
        if b + 1 == sizes[i]:
            if sizes[i] <= tiled.DIRECT_BITS:
                slots[0, i] = offsets[i] + np.int64(word)
            else:
                slots[0, i] = offsets[i] + np.int64(((chained ^ word) * np.uint64(tiled.GOLDEN))
                                                    >> np.uint64(64 - tiled.HASH_BITS))
            i += 1
        if (b + 1) % tiled.WORD_BITS == 0:
            chained, word = (chained ^ word) * np.uint64(tiled.GOLDEN), np.uint64(0)


@numba.njit(cache=True, inline="always")
def _ink_near(inked, row, col):
    """Whether any BLOCK x BLOCK block of the canvas that the context of the pixel at (row, col)
    touches holds ink (if none does, every context is all white: a shortcut to the same slots)."""
    last = min((col + R) // BLOCK, inked.shape[1] - 1)
    for by in range((row - R) // BLOCK, row // BLOCK + 1):
        for bx in range((col - R) // BLOCK, last + 1):
            if inked[by, bx]:
                return True
    return False


@numba.njit(cache=True, inline="always")
def _bucket4(distance, first, second, third):
    return 0 if distance < first else (1 if distance < second else (2 if distance < third else 3))


@loop
def _row_start(canvas, lines, stride, row, next_ink):
    """What _far reads of the rows above a page row, fixed while the row is coded (a row's cells are
    written by one strip of one batch, after every row above it that the decoder has yet): sets
    next_ink[c] to the first column at or after c with ink in the row above (``stride`` if none) and
    returns the line position (how many rows down from the last ink-free row, bucketed)."""
    above, following = (row - 1) * stride, stride
    for c in range(stride - 1, -1, -1):
        if canvas[above + c]:
            following = c
        next_ink[c] = following
    next_ink[stride] = stride
    top = row - 1
    while top > row - 21 and lines[1, top] > 0:
        top -= 1
    return _bucket4(row - top, 5, 10, 20)


@numba.njit(cache=True, inline="always")
def _far(lines, stride, row, col, next_ink, line_position):
    """The far feature of a pixel whose 10 nearest pixels are white (0 .. 255): how far back along
    its row the last ink and the last glyph start are, whether the row above has ink in the 20
    cells to the right, how far up its column the last ink is, and how many rows down from the last
    ink-free row it lies (where glyph tops start on a text line). ``lines``: _write's records;
    ``next_ink``, ``line_position``: _row_start's for the pixel's row."""
    ink_left = _bucket4(col - lines[2, row], 10, 20, 40)
    ink_above = 1 if next_ink[col + 1] < min(col + 21, stride) else 0
    ink_up = _bucket4(row - lines[0, col], 10, 20, 40)
    start_left = 1 if col - lines[3, row] < 40 else 0
    return (((ink_left * 2 + ink_above) * 4 + ink_up) * 2 + start_left) * 4 + line_position


@numba.njit(cache=True, inline="always")
def _write(canvas, inked, lines, stride, row, col, bit):
    """A coded pixel goes into the canvas; ink also into its block's flag and the line records
    (lines[0, col]: last row with ink in the column; lines[1, row]: ink cells in the row;
    lines[2, row]: column of the row's last ink; lines[3, row]: that of its last glyph start, an
    ink cell whose left, upper-left, upper and upper-right cells are white)."""
    at = row * stride + col
    canvas[at] = bit
    if bit:
        inked[row // BLOCK, col // BLOCK] = True
        above = at - stride
        if canvas[at - 1] == 0 and canvas[above - 1] == 0 and canvas[above] == 0 and canvas[above + 1] == 0:
            lines[3, row] = col
        lines[0, col] = row
        lines[1, row] += 1
        lines[2, row] = col


@numba.njit(cache=True, inline="always")
def _pattern(lines, stride, row, col, slots, offsets, next_ink, line_position):
    """The pixel's APM pattern: that of its 10 nearest pixels, or 1024 + _far where they are white."""
    near = slots[0, 0] - offsets[0]
    return near if near else (1 << APM_PIXELS) + _far(lines, stride, row, col, next_ink, line_position)


@numba.njit(cache=True, inline="always")
def _estimate(canvas, at, ink_near, relative, sizes, offsets, counts, estimate, slots, inputs, bucket):
    """The pixel's count estimates (inputs[0, 1:1+n]) and mixer bucket (bucket[0])."""
    n = sizes.shape[0]
    if ink_near:
        _slots_at(canvas, at, relative, sizes, offsets, slots)
    else:
        for i in range(n):
            slots[0, i] = offsets[i]
    for i in range(n):
        tiled._lookup_one(0, i, counts, estimate, slots, inputs, bucket, tiled._role(i, n))


@loop
def _refine(canvas, predicted, at, relative, near, causal, wide, offsets, counts, estimate, slots, inputs, first):
    """The two refinement models of a covered pixel (slots and inputs ``first`` and ``first + 1``):
    the predicted cells ``near`` with the canvas cells ``causal`` (a direct index), and the
    predicted cells ``wide`` with the REFINE_WIDE_CAUSAL nearest canvas cells (hashed). Returns the
    first mixer's refinement row: the wide model's count level and the predicted pixel."""
    small = np.int64(0)
    for b in range(near.shape[0]):
        small |= np.int64(predicted[at + near[b]] & PREDICTED_INK) << b
    for b in range(causal.shape[0]):
        small |= np.int64(canvas[at + causal[b]]) << (near.shape[0] + b)
    slots[0, first] = offsets[first] + small
    word = np.uint64(0)
    for b in range(wide.shape[0]):
        word |= np.uint64(predicted[at + wide[b]] & PREDICTED_INK) << np.uint64(b)
    for b in range(REFINE_WIDE_CAUSAL):
        word |= np.uint64(canvas[at + relative[b]]) << np.uint64(wide.shape[0] + b)
    slots[0, first + 1] = offsets[first + 1] + np.int64((word * np.uint64(tiled.GOLDEN))
                                                        >> np.uint64(64 - tiled.HASH_BITS))
    tiled._lookup_one(0, first, counts, estimate, slots, inputs, slots[0], 0)
    tiled._lookup_one(0, first + 1, counts, estimate, slots, inputs, slots[0], 0)
    seen = np.int64(counts[slots[0, first + 1], 0]) + np.int64(counts[slots[0, first + 1], 1])
    return min(tiled._LOG2[seen + 1], REFINE_ROWS // 2 - 1) * 2 + (predicted[at] & PREDICTED_INK)


@numba.njit(cache=True, inline="always")
def _pixel_contexts(canvas, predicted, stride, row, col, ink_near, refine, page, counts, estimate, slots, inputs,
                    bucket, keys, stroke_rows):
    """A pixel's count estimates (inputs[0, 1:]) and bucket (bucket[0]), and with the stroke models
    (coder 7) the stroke mixers' weight rows (``stroke_rows``); returns (the first mixer's row, how
    many context models learn from the pixel). ``page``: RasterContexts.kernel_arrays (its last
    array: one element with the stroke models (coder 7), none without)."""
    relative, sizes, offsets, near, causal, wide, stroke_flag = page
    at = row * stride + col
    _estimate(canvas, at, ink_near, relative, sizes, offsets, counts, estimate, slots, inputs, bucket)
    n = sizes.shape[0]
    if stroke_flag.shape[0]:
        if not ink_near:   # blank paper: the stroke models, mixers and APM sit out
            for i in range(n, n + strokes.MODELS):
                inputs[0, 1 + i] = 0
            stroke_rows[0] = -1
            return bucket[0], n
        strokes.stroke_slots(canvas, stride, at, offsets, n, keys, slots)
        for i in range(n, n + strokes.MODELS):
            tiled._lookup_one(0, i, counts, estimate, slots, inputs, slots[0], 0)
        strokes.mixer_rows(keys, tiled.BUCKETS + PATTERNS, stroke_rows)
        return bucket[0], n + strokes.MODELS
    if not refine:
        return bucket[0], n
    if predicted[at] & COVERED:
        row = _refine(canvas, predicted, at, relative, near, causal, wide, offsets, counts, estimate, slots, inputs, n)
        return tiled.BUCKETS + PATTERNS + row, n + 2
    inputs[0, 1 + n] = 0
    inputs[0, 2 + n] = 0
    return bucket[0], n


@numba.njit(cache=True, inline="always")
def _interpolate(apm, row, node, fraction):
    return (apm[row, node] * (APM_STEP_MASK + 1 - fraction) + apm[row, node + 1] * fraction) >> APM_STEP_BITS


@numba.njit(cache=True, inline="always")
def _mixer_logit(inputs, weights, row):
    z = np.int64(0)
    for i in range(inputs.shape[1]):
        z += weights[row, i] * inputs[0, i]
    return min(max(z >> tiled.WEIGHT_SHIFT, -TABLE_HALF), TABLE_HALF)


@numba.njit(cache=True, inline="always")
def _stroke_mixers(stroke_rows):
    """How many stroke mixers weigh the pixel: none without the stroke models or with no ink near."""
    return stroke_rows.shape[0] if stroke_rows.shape[0] and stroke_rows[0] >= 0 else 0


@numba.njit(cache=True, inline="always")
def _predict(inputs, row1, bucket, pattern, weights, apm, prob_table, stroke_rows, stroke_k):
    """P(1) of a pixel. Two mixers weigh the inputs: the first with its bucket's weights (row
    ``bucket``), the second with its ``pattern``'s (row BUCKETS + pattern; the pattern is that of the
    10 nearest pixels, or 1024 + the far feature where those are white); with the stroke models
    (coder 7, ``stroke_rows`` not empty, ink near) the stroke mixers too, each with its row of
    ``stroke_rows`` (their k into ``stroke_k``). Their logits are averaged, z = floor(sum / count),
    k_mix = the table at z. Two APMs read at z (interpolated between their two nearest nodes) refine
    it: the first's row is the pattern and the mixer bucket, the second's the level of the 30-pixel
    model's estimate and the pattern of the 4 nearest pixels. final = (2 (k_mix + 3 k_apm1) / 4 +
    k_apm2) / 3; with the stroke models a third APM, its row the reference-line mixer's selector,
    gives final' = (3 final + k_apm3) / 4. Returns (the two mixers' k, the final k, the APM rows
    (the third -1 without stroke models), node, fraction); P(1) = k / 2**24. ``row1``: the first
    mixer's row, ``bucket`` unless the predicted page covers the pixel (then a refinement row)."""
    z1 = _mixer_logit(inputs, weights, row1)
    z2 = _mixer_logit(inputs, weights, tiled.BUCKETS + pattern)
    total = z1 + z2
    mixers = _stroke_mixers(stroke_rows)
    for m in range(mixers):
        zm = _mixer_logit(inputs, weights, stroke_rows[m])
        stroke_k[m] = prob_table[zm + TABLE_HALF]
        total += zm
    # floor(total / (2 + mixers)), the divisor spelt out as a constant (a multiplication, not a division)
    z = total // (2 + len(strokes.MIXER_SETS)) if mixers else total >> 1
    node, fraction = (z + TABLE_HALF) >> APM_STEP_BITS, (z + TABLE_HALF) & APM_STEP_MASK
    if node == APM_POINTS - 1:
        node, fraction = APM_POINTS - 2, APM_STEP_MASK + 1
    first = pattern * tiled.BUCKETS + bucket
    near = pattern & ((1 << NEAR_PIXELS) - 1) if pattern < (1 << APM_PIXELS) else 0
    second = APM_ROWS + ((inputs[0, 1 + LEVEL_MODEL] + TABLE_HALF) >> LEVEL_BITS) * (1 << NEAR_PIXELS) + near
    refined = (prob_table[z + TABLE_HALF] + 3 * _interpolate(apm, first, node, fraction)) // 4
    final = (2 * refined + _interpolate(apm, second, node, fraction)) // 3
    third = -1
    if mixers:
        third = STROKE_APM + stroke_rows[0] - (tiled.BUCKETS + PATTERNS)
        final = (3 * final + _interpolate(apm, third, node, fraction)) // 4
    return (prob_table[z1 + TABLE_HALF], prob_table[z2 + TABLE_HALF], min(max(final, 1), (1 << PROB_BITS) - 1),
            first, second, third, node, fraction)


@numba.njit(cache=True, inline="always")
def _apm_step(apm, apm_row, node, fraction, target):
    """An APM's two nodes in ``apm_row`` move towards the bit by their share of the interpolation."""
    apm[apm_row, node] += ((target - apm[apm_row, node]) * (APM_STEP_MASK + 1 - fraction)) >> APM_RATE_SHIFT
    apm[apm_row, node + 1] += ((target - apm[apm_row, node + 1]) * fraction) >> APM_RATE_SHIFT


@numba.njit(cache=True, inline="always")
def _mixer_step(inputs, weights, weight_row, error):
    """A gradient step of a mixer's code length on its row of weights."""
    for i in range(inputs.shape[1]):
        weights[weight_row, i] += (error * inputs[0, i] * MIX_RATE) >> tiled.RATE_SHIFT


@numba.njit(cache=True, inline="always")
def _learn(inputs, row1, pattern, bit, mixed1, mixed2, weights, apm, first, second, third, node, fraction,
           stroke_rows, stroke_k):
    """A gradient step of each mixer's own code length on its row of weights; each APM's two nodes
    move towards the bit in proportion to their share of the interpolation."""
    target = np.int64(bit) << PROB_BITS
    _mixer_step(inputs, weights, row1, target - mixed1)
    _mixer_step(inputs, weights, tiled.BUCKETS + pattern, target - mixed2)
    for m in range(_stroke_mixers(stroke_rows)):
        _mixer_step(inputs, weights, stroke_rows[m], target - stroke_k[m])
    _apm_step(apm, first, node, fraction, target)
    _apm_step(apm, second, node, fraction, target)
    if third >= 0:
        _apm_step(apm, third, node, fraction, target)


def _scratch(models: int, stroke_models: bool, stride: int) -> tuple[np.ndarray, ...]:
    """The kernels' working arrays (they allocate nothing: coding.jit): one pixel's slots, mixer
    inputs (the bias set), bucket, bit, live flag and last ink for ``models`` context models, as the
    shared kernels of coder 2 take them (one row); the stroke models' keys, and the stroke mixers'
    rows and k (no mixers without the stroke models); _row_start's next ink of each column."""
    inputs = np.zeros((1, models + 2), np.int64)
    inputs[0, models + 1] = tiled.BIAS_INPUT
    mixers = len(strokes.MIXER_SETS) if stroke_models else 0
    return (np.zeros((1, models), np.int64), inputs, np.zeros(1, np.int64), np.zeros(1, np.int64),
            np.ones(1, np.bool_), np.zeros(1, np.int64), np.zeros(strokes.MODELS, np.int64),
            np.zeros(mixers, np.int64), np.zeros(mixers, np.int64), np.zeros(stride + 1, np.int64))


@loop
def _count_pass(values, live, strips, base, stride, height, width, canvas, predicted, refine, inked, lines, page,
                counts, state_map, stretch16, estimate, estimates, buckets, rows, patterns, kept_rows, mix, weights, apm,
                prob_table, coded, tile_bits, scratch):
    """Encoder: every pixel of a batch in coding order (strip by strip, page row by page row, left to
    right across the strip's tiles), writing each pixel into the canvas once counted (so later
    pixels see what the decoder will). Without ``mix``: each pixel's count estimates, bucket, first
    mixer row, APM pattern and stroke mixers' rows, kept for the mix once the DARN's logits are known
    (_mix_pass). With ``mix`` (a batch coded without the DARN: its grid logit 0): the mix at once,
    as the decoder makes it; ``coded[j]`` = k << 1 | bit of the j-th live pixel, and each tile's bits in
    ``tile_bits``. ``scratch``: _scratch's arrays."""
    n = page[2].shape[0]
    slots, inputs, bucket, bits, yes, last_ink, keys, stroke_rows, stroke_k, next_ink = scratch
    j = 0
    for s in range(strips.shape[0]):
        for y in range(height):
            line_position = _row_start(canvas, lines, stride, base[strips[s, 0]] // stride + y, next_ink)
            for t in range(strips[s, 0], strips[s, 1]):
                row, left = base[t] // stride + y, base[t] % stride
                for x in range(width):
                    p = y * width + x
                    if not live[t, p]:
                        continue
                    row1, learning = _pixel_contexts(canvas, predicted, stride, row, left + x,
                                                     _ink_near(inked, row, left + x), refine, page, counts, estimate,
                                                     slots, inputs, bucket, keys, stroke_rows)
                    bit = np.int64(values[t, p])
                    pattern = _pattern(lines, stride, row, left + x, slots, page[2], next_ink, line_position)
                    if mix:
                        mixed1, mixed2, k, first, second, third, node, fraction = _predict(
                            inputs, row1, bucket[0], pattern, weights, apm, prob_table, stroke_rows, stroke_k)
                        _learn(inputs, row1, pattern, bit, mixed1, mixed2, weights, apm, first, second, third, node,
                               fraction, stroke_rows, stroke_k)
                        coded[j] = (k << 1) | bit
                        tile_bits[t] -= np.log2((k if bit else (1 << PROB_BITS) - k) * (1.0 / (1 << PROB_BITS)))
                        j += 1
                    else:
                        buckets[t, p] = bucket[0]
                        rows[t, p] = row1
                        patterns[t, p] = pattern
                        for m in range(stroke_rows.shape[0]):
                            kept_rows[t, p, m] = stroke_rows[m]
                        for i in range(n):
                            estimates[t, p, i] = inputs[0, 1 + i]
                    bits[0] = bit
                    tiled._count_update(slots, bits, yes, counts, state_map, stretch16, estimate,
                                        last_ink, 0, learning)
                    _write(canvas, inked, lines, stride, row, left + x, bit)


@loop
def _mix_pass(grid_logits, estimates, buckets, rows, patterns, kept_rows, values, live, strips, height, width, weights,
              apm, prob_table, out, scratch):
    """Encoder: the coded k (P(1) = k / 2**24) of every pixel of a batch, in coding order."""
    n = estimates.shape[2]
    _, inputs, _, _, _, _, _, stroke_rows, stroke_k, _ = scratch
    for s in range(strips.shape[0]):
        for y in range(height):
            for t in range(strips[s, 0], strips[s, 1]):
                for p in range(y * width, (y + 1) * width):
                    if not live[t, p]:
                        continue
                    inputs[0, 0] = grid_logits[t, p]
                    for i in range(n):
                        inputs[0, 1 + i] = estimates[t, p, i]
                    bucket, row1, pattern = np.int64(buckets[t, p]), np.int64(rows[t, p]), np.int64(patterns[t, p])
                    for m in range(stroke_rows.shape[0]):
                        stroke_rows[m] = kept_rows[t, p, m]
                    mixed1, mixed2, k, first, second, third, node, fraction = _predict(
                        inputs, row1, bucket, pattern, weights, apm, prob_table, stroke_rows, stroke_k)
                    _learn(inputs, row1, pattern, values[t, p], mixed1, mixed2, weights, apm, first, second, third,
                           node, fraction, stroke_rows, stroke_k)
                    out[t, p] = k


@loop
def _in_coding_order(values, probs, live, strips, height, width, values_out, probs_out):
    """The live pixels' values and probabilities in coding order (what the decoder pops first, first)."""
    j = 0
    for s in range(strips.shape[0]):
        for y in range(height):
            for t in range(strips[s, 0], strips[s, 1]):
                for p in range(y * width, (y + 1) * width):
                    if live[t, p]:
                        values_out[j], probs_out[j] = values[t, p], probs[t, p]
                        j += 1


@loop
def _decode(words, stack, live, strips, base, stride, height, width, canvas, predicted, refine, inked, lines, page,
            counts, state_map, stretch16, estimate, weights, apm, prob_table, values, neighbours, local_weight,
            context, columns, table, darn_radius, use_darn, scratch):
    """Decoder: every pixel of a batch in coding order: the DARN's grid logit (its local visible
    layer over the tile's pixels so far; with no ink near, its neighbours are all white and only
    the context and the table's entry for white remain), the count estimates from the canvas, the
    mix, one ANS pop, then the updates the encoder made. ``scratch``: _scratch's arrays."""
    n = page[2].shape[0]   # every model of the tables (the refinement models read 0 where not refining)
    slots, inputs, bucket, bits, yes, last_ink, keys, stroke_rows, stroke_k, next_ink = scratch
    white_logit = table[0] if columns.shape[0] else 0.0   # the DARN's table entry for all-white neighbours
    for s in range(strips.shape[0]):
        for y in range(height):
            line_position = _row_start(canvas, lines, stride, base[strips[s, 0]] // stride + y, next_ink)
            for t in range(strips[s, 0], strips[s, 1]):
                row, left = base[t] // stride + y, base[t] % stride
                for x in range(width):
                    p = y * width + x
                    if not live[t, p]:
                        continue
                    ink_near = _ink_near(inked, row, left + x)
                    if use_darn:
                        if ink_near or darn_radius > R:
                            logit = _local_logit(values, t, neighbours[p], local_weight[p], context[t, p], columns,
                                                 table)
                        else:
                            logit = context[t, p] + white_logit
                        rounded = np.floor((logit + float(1 << (GRID_SHIFT - 1))) * (1.0 / (1 << GRID_SHIFT)))
                        inputs[0, 0] = np.int64(min(max(rounded, -TABLE_HALF), TABLE_HALF))
                    row1, learning = _pixel_contexts(canvas, predicted, stride, row, left + x, ink_near, refine, page,
                                                     counts, estimate, slots, inputs, bucket, keys, stroke_rows)
                    pattern = _pattern(lines, stride, row, left + x, slots, page[2], next_ink, line_position)
                    mixed1, mixed2, k, first, second, third, node, fraction = _predict(
                        inputs, row1, bucket[0], pattern, weights, apm, prob_table, stroke_rows, stroke_k)
                    bit = pop_bit(words, stack, k)
                    bits[0] = bit
                    tiled._count_update(slots, bits, yes, counts, state_map, stretch16, estimate,
                                        last_ink, 0, learning)
                    _learn(inputs, row1, pattern, bit, mixed1, mixed2, weights, apm, first, second, third, node,
                           fraction, stroke_rows, stroke_k)
                    _write(canvas, inked, lines, stride, row, left + x, bit)
                    values[t, p] = bit


Counted = tuple[np.ndarray, ...]   # a batch's count estimates, buckets, first mixer rows, APM patterns, stroke
                                   # mixers' rows


class PageCanvas:
    """Where the tiles of one group of images lie on a white canvas: the images one below another,
    each with ``rows`` white rows above it, ``cols`` white columns on either side (row stride
    ``stride``; R and R, or what coder 7's stroke models read: strokes.MARGIN_ROWS and MARGIN_COLS)."""

    def __init__(self, shapes: list[tuple[int, int]], tile_h: int, tile_w: int, rows: int = R, cols: int = R) -> None:
        grids = [(-(-h // tile_h), -(-w // tile_w)) for h, w in shapes]
        self.rows, self.cols = rows, cols
        self.stride = max(cols_ * tile_w for _, cols_ in grids) + 2 * cols
        base, strip_key, top = [], [], 0
        for image, (tile_rows, tile_cols) in enumerate(grids):
            for row in range(tile_rows):
                for col in range(tile_cols):
                    base.append((top + rows + row * tile_h) * self.stride + cols + col * tile_w)
                    strip_key.append((image, row))
            top += rows + tile_rows * tile_h
        self.base = np.array(base, np.int64)
        self.strip_key = strip_key
        self.canvas = np.zeros(top * self.stride + cols + 1, np.uint8)
        self.inked = np.zeros((-(-top // BLOCK), -(-self.stride // BLOCK)), np.bool_)
        self.lines = np.full((4, max(top, self.stride)), NO_LINE, np.int64)   # _write's records
        self.lines[1] = 0
        offsets = causal_offsets(R)
        nearest = table_columns(R, CONTEXT_PIXELS[-1])
        self.relative = self._relative([offsets[c] for c in nearest])
        self.predicted: np.ndarray | None = None   # no prediction (coder 3, or a group of small images)

    def _relative(self, offsets) -> np.ndarray:
        return np.array([dy * self.stride + dx for dy, dx in offsets], np.int64)

    def refinement_offsets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._relative(REFINE_PREDICTED), self._relative(REFINE_CAUSAL), self._relative(REFINE_WIDE)

    def draw_prediction(self, shapes: list[np.ndarray], placements: np.ndarray) -> None:
        """The predicted page of a group of one image: each placement (class, top, left) draws its
        class's bitmap, and marks its box, grown by COVER_MARGIN, as covered."""
        predicted = np.zeros((len(self.canvas) // self.stride + 3, self.stride), np.uint8)
        for c, top, left in placements:
            bitmap = shapes[c]
            row, col = top + self.rows, left + self.cols
            box = predicted[max(row - COVER_MARGIN, 0):row + bitmap.shape[0] + COVER_MARGIN,
                            max(col - COVER_MARGIN, 0):col + bitmap.shape[1] + COVER_MARGIN]
            box |= COVERED
            predicted[row:row + bitmap.shape[0], col:col + bitmap.shape[1]] |= bitmap.astype(np.uint8)
        self.predicted = predicted.ravel()

    def strips(self, start: int, stop: int) -> np.ndarray:
        """(first, stop) tile of each strip of the group's tiles start..stop, batch-relative."""
        cuts = [t for t in range(start + 1, stop) if self.strip_key[t] != self.strip_key[t - 1]]
        bounds = [start] + cuts + [stop]
        return np.array([(a - start, b - start) for a, b in zip(bounds[:-1], bounds[1:])], np.int64).reshape(-1, 2)


class RasterContexts:
    """Count state and canvas of the group being coded, for one model's tiles; with ``refine``
    (coder id 4), the two refinement models by the predicted page too; with ``stroke_models``
    (coder id 7), the ten stroke models and their four mixers (coding.mixing.strokes)."""

    def __init__(self, height: int, width: int, prob_table: np.ndarray, refine: bool = False,
                 stroke_models: bool = False) -> None:
        if refine and stroke_models:
            raise ValueError("no coder refines by a predicted page and reads stroke contexts")
        self.refine, self.stroke_models = refine, stroke_models
        hashed = (tiled.HASH_BITS + tiled.DIRECT_BITS,) * strokes.MODELS   # a size over DIRECT_BITS: hashed
        self.tables = CountTables(CONTEXT_PIXELS + (REFINE_PIXELS if refine else ()) +
                                  (hashed if stroke_models else ()), prob_table)
        self.stroke_flag = np.ones(1 if stroke_models else 0, np.bool_)   # the kernels' test for coder 7
        self.height, self.width = height, width
        self.page: PageCanvas | None = None
        self.first = 0

    def enter_group(self, group: int, shapes: list[tuple[int, int]], first_tile: int) -> None:
        """A new group (its images' shapes; ``first_tile``: its first tile in the archive) starts
        with zero counts and a white canvas."""
        if group == self.tables.group and self.page is not None:
            return
        self.tables.enter_group(group)
        margin = (strokes.MARGIN_ROWS, strokes.MARGIN_COLS) if self.stroke_models else (R, R)
        self.page = PageCanvas(shapes, self.height, self.width, *margin)
        self.first = first_tile

    def batch(self, start: int, mask: np.ndarray) -> "RasterBatch":
        """The batch of tiles starting at archive tile ``start``."""
        return RasterBatch(self, start, mask)

    def fresh_mixer(self) -> tuple[np.ndarray, np.ndarray]:
        """A batch's mixer weights (the DARN's logit alone; the first BUCKETS rows are the first
        mixer's) and APMs (every row the identity; the first APM_ROWS rows are the first APM's)."""
        stroke_rows = sum(strokes.MIXER_SETS) if self.stroke_models else 0
        rows = tiled.BUCKETS + PATTERNS + (REFINE_ROWS if self.refine else 0) + stroke_rows
        weights = np.zeros((rows, self.tables.inputs), np.int64)   # every mixer's rows
        weights[:, 0] = 1 << tiled.WEIGHT_SHIFT
        apm = np.empty((STROKE_APM + (strokes.APM_ROWS if self.stroke_models else 0), APM_POINTS), np.int64)
        apm[:] = self.tables.prob_table[np.arange(APM_POINTS) << APM_STEP_BITS]
        return weights, apm

    def prediction(self) -> tuple[np.ndarray, bool]:
        """The kernels' predicted canvas and whether to refine by it (a group with a predicted page)."""
        if self.page.predicted is None:
            return np.zeros(1, np.uint8), False
        return self.page.predicted, True

    def scratch(self) -> tuple[np.ndarray, ...]:
        """Fresh working arrays for a kernel over the group's canvas (_scratch)."""
        return _scratch(len(self.tables.sizes), self.stroke_models, self.page.stride)

    def kernel_arrays(self) -> tuple[np.ndarray, ...]:
        """What the kernels read of the canvas geometry and count tables: the causal offsets, the
        canvas models' sizes, every model's slot offset, the refinement models' offsets, the stroke
        flag (one element with the stroke models, none without)."""
        canvas_models = len(CONTEXT_PIXELS)
        return (self.page.relative, self.tables.sizes[:canvas_models], self.tables.offsets,
                *self.page.refinement_offsets(), self.stroke_flag)


class RasterBatch:
    """One batch of coder 3, a bitsback.VisibleStage: either side's pass in coding order."""

    def __init__(self, contexts: RasterContexts, start: int, mask: np.ndarray) -> None:
        a, b = start - contexts.first, start - contexts.first + len(mask)
        self.contexts = contexts
        self.counted: Counted | None = None
        self.coded: np.ndarray | None = None        # count_pass(mixed=True): k << 1 | bit per live pixel, ...
        self.tile_bits: np.ndarray | None = None    # ... and each tile's bits
        self.mask = np.ascontiguousarray(mask)
        self.strips = contexts.page.strips(a, b)
        self.base = np.ascontiguousarray(contexts.page.base[a:b])

    def count_pass(self, x: np.ndarray, mixed: bool = False) -> None:
        """Encoder: advance the counts and canvas past the batch (batches must come in decoding
        order), keeping what the mix needs: every pixel's count estimates, mixer row, bucket and
        APM pattern (17 bytes a pixel) for encode(); or, ``mixed`` (a batch coded without the DARN,
        push_mixed), the coded probabilities themselves (4 bytes a pixel)."""
        c, page, ctx = self.contexts.tables, self.contexts.page, self.contexts
        shape = (0, 0) if mixed else x.shape
        estimates = np.zeros((*shape, len(c.sizes)), np.int16)
        buckets, rows, patterns = np.zeros(shape, np.int8), np.zeros(shape, np.int16), np.zeros(shape, np.int16)
        kept_rows = np.zeros((*shape, len(strokes.MIXER_SETS) if ctx.stroke_models else 0), np.int16)
        coded = np.zeros(int(self.mask.sum()) if mixed else 0, np.int32)
        tile_bits = np.zeros(len(self.mask))
        weights, apm = ctx.fresh_mixer() if mixed else (np.zeros((0, 0), np.int64), np.zeros((0, 0), np.int64))
        _count_pass(np.ascontiguousarray(x), self.mask, self.strips, self.base, page.stride, ctx.height, ctx.width,
                    page.canvas, *ctx.prediction(), page.inked, page.lines, ctx.kernel_arrays(), c.counts, c.state_map,
                    c.stretch16, c.estimate, estimates, buckets, rows, patterns, kept_rows, mixed, weights, apm,
                    c.prob_table, coded, tile_bits, ctx.scratch())
        if mixed:
            self.coded, self.tile_bits = coded, tile_bits
        else:
            self.counted = estimates, buckets, rows, patterns, kept_rows

    def push_mixed(self, coder) -> np.ndarray:
        """Encoder: push a batch counted with ``mixed`` (no DARN); returns each tile's bits."""
        for start, stop in chunks_last_first(len(self.coded)):
            chunk = self.coded[start:stop]
            push_in_order(coder, chunk & 1, (chunk >> 1) * (1.0 / (1 << PROB_BITS)))
        self.coded = None
        return self.tile_bits

    def encode(self, grid_logits: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Encoder: the coded k of every pixel of the batch (fresh mixer weights)."""
        out = np.zeros(x.shape, np.int64)
        _mix_pass(np.ascontiguousarray(grid_logits, dtype=np.int64), *self.counted,
                  np.ascontiguousarray(x, dtype=np.int64), self.mask, self.strips, self.contexts.height,
                  self.contexts.width, *self.contexts.fresh_mixer(), self.contexts.tables.prob_table, out,
                  self.contexts.scratch())
        return out

    def in_coding_order(self, x: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The live pixels' values and probabilities, in the order the decoder pops them."""
        live = int(self.mask.sum())
        values_out, probs_out = np.zeros(live, np.int32), np.zeros(live)
        _in_coding_order(np.ascontiguousarray(x), np.ascontiguousarray(probs, dtype=np.float64), self.mask,
                         self.strips, self.contexts.height, self.contexts.width, values_out, probs_out)
        return values_out, probs_out

    def decode(self, coder, network, context: np.ndarray | None):
        """Decoder: pop the batch's pixels from ``coder``; returns (pixels, the coder afterwards).
        ``context``: the DARN's visible context given h; None: no DARN (its grid logit input is 0)."""
        tiles, pixels = self.mask.shape
        words, stack = to_stack(coder, spare=0)
        values = np.zeros((tiles, pixels + 1), np.uint8)   # the DARN's _local_logit reads it too
        ctx, c, page = self.contexts, self.contexts.tables, self.contexts.page
        _decode(words, stack, self.mask, self.strips, self.base, page.stride, ctx.height, ctx.width, page.canvas,
                *ctx.prediction(), page.inked, page.lines, ctx.kernel_arrays(), c.counts, c.state_map,
                c.stretch16, c.estimate, *ctx.fresh_mixer(), c.prob_table, values, network.neighbours, network.visible_weight,
                np.zeros((1, 1)) if context is None else np.ascontiguousarray(context, dtype=np.float64),
                network.table_columns, network.local_table(), network.config.radius, context is not None,
                ctx.scratch())
        return values[:, :pixels], to_coder(words, stack)
