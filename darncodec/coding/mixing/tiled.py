"""Page-adaptive mixing: the DARN's P(pixel) sharpened by what the archive has shown so far.

A trained DARN is a static model: every page gets the same probabilities for the same tile, however
often the page repeats a glyph. JBIG adapts per image instead (counts of each pattern of a pixel's
causal template). This stage does both, as a context-mixing compressor would (Mahoney's PAQ;
logistic mixing): for every coded pixel

    s_d         = the DARN's logit (its integer logit on the probability table's grid, Eq. 8-10),
    s_1..s_6    = stretch(p_i) for six context models, the 10, 16, 30, 44, 60 and 90 nearest causal
                  neighbours in the tile (radius 7; those over 16 pixels hashed into 2**22 slots),
                  each counting n0, n1 per pattern: p_i is an adaptive estimate for each small
                  count state (n0, n1 < 16), learned from the archive, and the Krichevsky-Trofimov
                  estimate (n1 + 1/2) / (n + 1) beyond,
    P(1)        = squash(s_d w_d + sum_i w_i s_i + w_bias), with the weight set chosen by how often
                  the two largest contexts have been seen (6 x 4 buckets), learned online by
                  gradient steps on the code length.

Everything is integer arithmetic (numba kernels below), and ``stretch`` and ``squash`` are both read
from the model file's probability table, so both sides compute the same probabilities on every
machine.

Order and bits back. Pixels are decoded batch by batch (the batches in reverse of the order the
encoder pushes them, darncodec.codec), inside a batch position by position, all tiles of the batch
at once; states are updated after each position from all the tiles' pixels. The counts depend only
on pixels, so they carry over a whole group of images (tiling.adaptive_schedule: a page, or a run of
small images): the encoder computes every pixel's count estimates in decoding order before it
codes anything. The mixer weights also depend on the DARN's logits, which depend on the h that bits
back pops; the encoder only knows those batch by batch, so the mixer starts afresh in every batch.
"""

from __future__ import annotations

import numba
import numpy as np

from darncodec.coding.ans.streams import popper, unit_major
from darncodec.coding.network.fixed_point import PROB_BITS, TABLE_HALF
from darncodec.model.neighbourhood import neighbour_index, table_columns

CONTEXT_PIXELS = (10, 16, 30, 44, 60, 90)    # the nested context models (nearest causal neighbours first)
DIRECT_BITS = 16                 # a context of at most this many pixels indexes its counts directly
WORD_BITS = 60                   # larger contexts are read 60 pixels at a time and chained
GOLDEN = 0x9E3779B97F4A7C15      # Fibonacci hashing's multiplier
CONTEXT_RADIUS = 7
HASH_BITS = 22                   # larger ones are hashed into 2**22 slots
COUNT_LIMIT = 60                 # n0 + n1 above this: both halved (forget old statistics; fits a byte)
NO_INK = -(1 << 40)              # last_ink of a tile without ink so far
SEEN_LEVELS = 6                  # mixer weight sets: log2 of how often the largest context was seen,
SECOND_LEVELS = 4                # times that of the second largest
BUCKETS = SEEN_LEVELS * SECOND_LEVELS
WEIGHT_SHIFT = 16                # mixer weights are integers at scale 2**16
LEARNING_RATE = 41               # weight step = sum(error * input) * 41 / 2**26 / sqrt(tiles): about 0.02
RATE_SHIFT = 26
BIAS_INPUT = 128                 # the bias input: a logit of 1 on the 1/128 grid
STATES = 16                      # count states n0, n1 < 16 have a learned estimate ...
STATE_BITS = 22                  # ... at scale 2**22, a running mean of the pixels seen in that state
STATE_LIMIT = 1023               # (over at most the last ~1023 of them)
KT_BITS = 16                     # count estimates are read at 16 bits before their stretch


def stretch_table(prob_table: np.ndarray) -> np.ndarray:
    """stretch(k / 2**16) on the probability table's logit grid (units of 1/128), for k < 2**16:
    the first grid logit whose probability reaches k / 2**16 (integers only)."""
    k = np.arange(1 << KT_BITS, dtype=np.int64) << (PROB_BITS - KT_BITS)
    return (np.searchsorted(prob_table, k, side="left") - TABLE_HALF).clip(-TABLE_HALF, TABLE_HALF).astype(np.int16)


def kt_stretch_table(stretch16: np.ndarray) -> np.ndarray:
    """stretch of the Krichevsky-Trofimov estimate (n1 + 1/2) / (n0 + n1 + 1), read at 16 bits, for
    every pair of counts a context can hold (a table instead of a division per lookup)."""
    n0, n1 = np.meshgrid(np.arange(COUNT_LIMIT + 1), np.arange(COUNT_LIMIT + 1), indexing="ij")
    k = ((2 * n1 + 1) << (KT_BITS - 1)) // (n0 + n1 + 1)
    return np.ascontiguousarray(stretch16[np.clip(k, 1, (1 << KT_BITS) - 1)])


@numba.njit(cache=True)
def _isqrt(n: int) -> int:
    root = int(np.sqrt(np.float64(n)))
    while root * root > n:
        root -= 1
    while (root + 1) * (root + 1) <= n:
        root += 1
    return root


@numba.njit(cache=True, inline="always")
def _role(i, n):
    return 1 if i == n - 1 else (2 if i == n - 2 else 0)


_LOG2 = np.array([0, 0] + [int(np.log2(n)) for n in range(2, 2 * COUNT_LIMIT + 2)], np.int64)   # floor(log2 n)


@numba.njit(cache=True, inline="always")
def _stretch_of_state(entry, stretch16):
    """The stretch of a state map entry's running mean, read at 16 bits."""
    return stretch16[min(max(entry >> (STATE_BITS - KT_BITS), 1), (1 << KT_BITS) - 1)]


@numba.njit(cache=True, inline="always")
def _lookup_one(t, i, counts, estimate, slots, inputs, buckets, role):
    """Context model i of tile t reads the counts at slots[t, i]: the stretch of its estimate (the
    state map's for small counts, KT's beyond: CountTables.estimate) goes to inputs[t, 1 + i]; the
    two largest contexts set the tile's mixer bucket (role 2: the second largest, role 1: the
    largest), by log2 of how often they were seen."""
    slot = slots[t, i]
    a, b1 = np.int64(counts[slot, 0]), np.int64(counts[slot, 1])
    inputs[t, 1 + i] = estimate[i, a, b1]
    if role == 2:
        buckets[t] = SEEN_LEVELS * min(_LOG2[a + b1 + 1], SECOND_LEVELS - 1)
    elif role == 1:
        buckets[t] += min(_LOG2[a + b1 + 1], SEEN_LEVELS - 1)


@numba.njit(cache=True)
def _count_lookup(values, context, sizes, offsets, counts, estimate, slots, inputs, buckets,
                  last_ink, white_below):
    """For every tile t of the batch, the slots of pixel p's contexts (``context``: pixel p's row of
    AdaptiveContexts.context, indices into ``values``, whose last column is 0) and their count
    estimates (inputs[:, 1:]).
    A tile whose last ink pixel comes before ``white_below`` has an all-white context: every code is 0
    (a shortcut to the same slots)."""
    n = sizes.shape[0]
    for t in range(values.shape[0]):
        if last_ink[t] < white_below:
            for i in range(n):
                slots[t, i] = offsets[i]
        else:
            chained, word, i = np.uint64(0), np.uint64(0), 0
            for b in range(context.shape[0]):
                if values[t, context[b]] > 0:
                    word |= np.uint64(1) << np.uint64(b % WORD_BITS)
                if b + 1 == sizes[i]:
                    if sizes[i] <= DIRECT_BITS:
                        slots[t, i] = offsets[i] + np.int64(word)
                    else:
                        slots[t, i] = offsets[i] + np.int64(((chained ^ word) * np.uint64(GOLDEN))
                                                            >> np.uint64(64 - HASH_BITS))
                    i += 1
                if (b + 1) % WORD_BITS == 0:
                    chained, word = (chained ^ word) * np.uint64(GOLDEN), np.uint64(0)
        for i in range(n):   # the slots first, then their loads: independent, so the memory reads overlap
            _lookup_one(t, i, counts, estimate, slots, inputs, buckets, _role(i, n))


@numba.njit(cache=True, inline="always")
def _count_update(slots, bits, live, counts, state_map, stretch16, estimate, last_ink, p, models):
    """Count each tile's bit in the slots of its first ``models`` contexts; a small count state's
    running mean moves towards the bit (and its stretch in ``estimate`` with it)."""
    for t in range(slots.shape[0]):
        if live[t]:
            if bits[t]:
                last_ink[t] = p
            for i in range(models):
                s = slots[t, i]
                if counts[s, 0] < STATES and counts[s, 1] < STATES:
                    entry = state_map[i, counts[s, 0], counts[s, 1]]
                    entry[0] += ((np.int64(bits[t]) << (STATE_BITS + 1)) - 2 * entry[0]) // (2 * entry[1] + 3)
                    entry[1] = min(entry[1] + 1, STATE_LIMIT)
                    estimate[i, counts[s, 0], counts[s, 1]] = _stretch_of_state(entry[0], stretch16)
                a = np.int64(counts[s, 0]) + (1 - np.int64(bits[t]))
                b = np.int64(counts[s, 1]) + np.int64(bits[t])
                if a + b > COUNT_LIMIT:
                    a, b = (a + 1) >> 1, (b + 1) >> 1
                counts[s, 0], counts[s, 1] = a, b


@numba.njit(cache=True)
def _mix(inputs, buckets, weights, prob_table, out):
    """out[t] = the probability table's k (P(1) = k / 2**24) at sum_i w[bucket, i] * inputs[t, i]."""
    for t in range(inputs.shape[0]):
        z = np.int64(0)
        for i in range(inputs.shape[1]):
            z += weights[buckets[t], i] * inputs[t, i]
        z >>= WEIGHT_SHIFT
        out[t] = prob_table[min(max(z, -TABLE_HALF), TABLE_HALF) + TABLE_HALF]


@numba.njit(cache=True)
def _mix_update(inputs, buckets, bits, live, k, weights):
    """One gradient step of the code length per position, summed over the batch's tiles in each bucket
    and divided by the square root of their number."""
    n_inputs = inputs.shape[1]
    gradient = np.zeros((BUCKETS, n_inputs), np.int64)
    tiles = np.zeros(BUCKETS, np.int64)
    for t in range(inputs.shape[0]):
        if live[t]:
            error = (np.int64(bits[t]) << PROB_BITS) - k[t]
            tiles[buckets[t]] += 1
            for i in range(n_inputs):
                gradient[buckets[t], i] += error * inputs[t, i]
    for b in range(BUCKETS):
        if tiles[b]:
            scale = _isqrt(tiles[b]) << RATE_SHIFT
            for i in range(n_inputs):
                weights[b, i] += (gradient[b, i] * LEARNING_RATE) // scale


@numba.njit(cache=True)
def _predict(values, context, sizes, offsets, counts, estimate, slots, inputs, buckets,
             last_ink, p, width, grid_logit, weights, prob_table, k):
    _count_lookup(values, context, sizes, offsets, counts, estimate, slots, inputs, buckets,
                  last_ink, _white_below(p, width))
    for t in range(inputs.shape[0]):
        inputs[t, 0] = grid_logit[t]
    _mix(inputs, buckets, weights, prob_table, k)


@numba.njit(cache=True)
def _update(slots, bits, live, counts, state_map, stretch16, estimate, last_ink, p, inputs, buckets, k, weights):
    _count_update(slots, bits, live, counts, state_map, stretch16, estimate, last_ink, p, slots.shape[1])
    _mix_update(inputs, buckets, bits, live, k, weights)


@numba.njit(cache=True)
def _white_below(p, width):
    """Ink before this index lies outside the context of pixel p (rows above the context's top)."""
    return (p // width - CONTEXT_RADIUS) * width


@numba.njit(cache=True)
def _count_pass(values, live, context, sizes, offsets, counts, state_map, stretch16, estimate, width, estimates,
                buckets):
    """The encoder's _count_lookup/_count_update over every position of a batch: the count
    estimates (tiles, pixels, contexts) and buckets (tiles, pixels) of every pixel, stored small."""
    tiles, pixels = live.shape
    slots = np.zeros((tiles, sizes.shape[0]), np.int64)
    inputs = np.zeros((tiles, sizes.shape[0] + 2), np.int64)
    bucket = np.zeros(tiles, np.int64)
    last_ink = np.full(tiles, NO_INK, np.int64)
    for p in range(pixels):
        _count_lookup(values, context[p], sizes, offsets, counts, estimate, slots, inputs, bucket,
                      last_ink, _white_below(p, width))
        _count_update(slots, values[:, p], live[:, p], counts, state_map, stretch16, estimate, last_ink, p,
                      slots.shape[1])
        for t in range(tiles):
            buckets[t, p] = bucket[t]
            for i in range(sizes.shape[0]):
                estimates[t, p, i] = inputs[t, 1 + i]


@numba.njit(cache=True)
def _mix_pass(grid_logits, estimates, buckets, values, live, weights, prob_table, out):
    """The encoder's _mix/_mix_update over every position of a batch."""
    tiles, pixels = live.shape
    contexts = estimates.shape[2]
    inputs = np.zeros((tiles, contexts + 2), np.int64)
    bucket = np.zeros(tiles, np.int64)
    k = np.zeros(tiles, np.int64)
    for p in range(pixels):
        for t in range(tiles):
            inputs[t, 0] = grid_logits[t, p]
            for i in range(contexts):
                inputs[t, 1 + i] = estimates[t, p, i]
            inputs[t, contexts + 1] = BIAS_INPUT
            bucket[t] = buckets[t, p]
        _mix(inputs, bucket, weights, prob_table, k)
        _mix_update(inputs, bucket, values[:, p], live[:, p], k, weights)
        for t in range(tiles):
            out[t, p] = k[t]


Counted = tuple[np.ndarray, np.ndarray]   # a batch's count estimates and buckets (AdaptiveContexts.count_pass)


class CountTables:
    """The counts and state maps of nested context models of ``pixels`` nearest neighbours (one
    group of images: a page), and the stretch tables of one model's probability table."""

    def __init__(self, pixels: tuple[int, ...], prob_table: np.ndarray) -> None:
        self.sizes = np.array(pixels, np.int64)
        slots = [1 << int(min(n, HASH_BITS) if n > DIRECT_BITS else n) for n in self.sizes]
        self.offsets = np.cumsum([0] + slots[:-1]).astype(np.int64)
        self.counts = np.zeros((sum(slots), 2), np.uint8)      # n0, n1 side by side: one cache line
        self.state_map = np.zeros((len(self.sizes), STATES, STATES, 2), np.int64)
        self.prob_table = np.ascontiguousarray(prob_table, dtype=np.int64)
        self.stretch16 = stretch_table(self.prob_table)
        self.kt_stretch = kt_stretch_table(self.stretch16)
        # estimate[i, n0, n1]: the stretch context model i gives for counts n0, n1 (the state map's for
        # small counts, kept in step with it; KT's beyond)
        self.estimate = np.zeros((len(self.sizes), COUNT_LIMIT + 1, COUNT_LIMIT + 1), np.int16)
        self.group: int | None = None
        self.enter_group(0)

    def enter_group(self, group: int, shapes: list[tuple[int, int]] | None = None, first_tile: int = 0) -> None:
        """Start afresh (counts zero, state maps at the KT estimates) when a new group of images
        begins, in decoding order (the group's image shapes and first tile: coding.mixing.raster's)."""
        if group == self.group:
            return
        if self.group is not None:   # a fresh np.zeros, not a write over the old one: untouched pages stay unmapped
            self.counts = np.zeros(self.counts.shape, np.uint8)
        self.group = group
        n0, n1 = np.meshgrid(np.arange(STATES), np.arange(STATES), indexing="ij")
        self.state_map[..., 0] = ((2 * n1 + 1) << (STATE_BITS - 1)) // (n0 + n1 + 1)
        self.state_map[..., 1] = 0
        self.estimate[:] = self.kt_stretch
        k = self.state_map[:, :, :, 0] >> (STATE_BITS - KT_BITS)
        self.estimate[:, :STATES, :STATES] = self.stretch16[np.clip(k, 1, (1 << KT_BITS) - 1)]

    @property
    def inputs(self) -> int:
        return 2 + len(self.sizes)    # the DARN, each context model, the bias


class AdaptiveContexts(CountTables):
    """The count state of one group of images (a page) and the kernels' fixed arguments for one
    model's tiles (coder 2: contexts inside the tile)."""

    def __init__(self, height: int, width: int, prob_table: np.ndarray) -> None:
        super().__init__(CONTEXT_PIXELS, prob_table)
        self.width = width
        # context[p, b]: where in a tile's pixels (plus a last zero column) the b-th nearest causal
        # neighbour of pixel p is
        nearest = table_columns(CONTEXT_RADIUS, int(self.sizes[-1]))
        self.context = np.ascontiguousarray(neighbour_index(height, width, CONTEXT_RADIUS)[:, nearest])

    def count_pass(self, x: np.ndarray, mask: np.ndarray) -> Counted:
        """Encoder: the count estimates (tiles, pixels, contexts) and mixer buckets (tiles, pixels) of
        every pixel of a batch of tiles, with the counts advanced past the batch. Batches must come in
        decoding order."""
        tiles, pixels = x.shape
        values = np.zeros((tiles, pixels + 1), np.int64)
        values[:, :pixels] = x
        estimates = np.zeros((tiles, pixels, len(self.sizes)), np.int16)
        buckets = np.zeros((tiles, pixels), np.int8)
        _count_pass(values, np.ascontiguousarray(mask), self.context, self.sizes,
                    self.offsets, self.counts, self.state_map, self.stretch16, self.estimate, self.width, estimates,
                    buckets)
        return estimates, buckets

    def batch(self, start: int, mask: np.ndarray) -> "BatchMixer":
        """The mixer of the batch starting at archive tile ``start`` (which the tiled coder does not need)."""
        return BatchMixer(self, mask)


class BatchMixer:
    """The mixer of one batch (fresh weights: the DARN's logit alone), for either side; the
    encoder's also holds the batch's count estimates. A bitsback.VisibleStage (pixels unit-major)."""

    def __init__(self, contexts: AdaptiveContexts, mask: np.ndarray) -> None:
        self.contexts = contexts
        self.counted: Counted | None = None
        self.mask = np.ascontiguousarray(mask)
        self.weights = np.zeros((BUCKETS, contexts.inputs), np.int64)
        self.weights[:, 0] = 1 << WEIGHT_SHIFT
        tiles = len(mask)
        self._slots = np.zeros((tiles, len(contexts.sizes)), np.int64)
        self._inputs = np.zeros((tiles, contexts.inputs), np.int64)
        self._inputs[:, -1] = BIAS_INPUT
        self._buckets = np.zeros(tiles, np.int64)
        self._k = np.zeros(tiles, np.int64)
        self._last_ink = np.full(tiles, NO_INK, np.int64)

    def count_pass(self, x: np.ndarray) -> None:
        """Encoder: the batch's count estimates (batches in decoding order)."""
        self.counted = self.contexts.count_pass(x, self.mask)

    def encode(self, grid_logits: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Encoder: the table's k for every pixel of the batch (P(1) = k / 2**24), from the DARN's
        grid logits (tiles, pixels) and this batch's ``count_pass``."""
        estimates, buckets = self.counted
        out = np.zeros(x.shape, np.int64)
        _mix_pass(np.ascontiguousarray(grid_logits, dtype=np.int64), estimates, buckets,
                  np.ascontiguousarray(x, dtype=np.int64), self.mask, self.weights, self.contexts.prob_table, out)
        return out

    def in_coding_order(self, x: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The live pixels' values and probabilities unit-major, as popper pops them."""
        return unit_major(x, probs, self.mask)

    def decode(self, coder, network, context: np.ndarray):
        """Decoder: the batch's pixels, position by position (IntegerDARN.decode_visible)."""
        return network.decode_visible(context, popper(coder, self.mask), self), coder

    def predict(self, p: int, grid_logit: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Decoder: the table's k at position ``p`` for every tile; ``values`` (tiles, pixels + 1)
        holds the pixels decoded so far and a last column of zeros."""
        c = self.contexts
        _predict(values, c.context[p], c.sizes, c.offsets, c.counts, c.estimate, self._slots, self._inputs,
                 self._buckets, self._last_ink, p, c.width, grid_logit, self.weights, c.prob_table, self._k)
        return self._k

    def update(self, p: int, bits: np.ndarray) -> None:
        """Decoder: learn from the pixels just decoded at position ``p``."""
        c, live = self.contexts, self.mask[:, p]
        _update(self._slots, bits, live, c.counts, c.state_map, c.stretch16, c.estimate, self._last_ink, p,
                self._inputs, self._buckets, self._k, self.weights)
