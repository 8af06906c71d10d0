"""The dictionary's sizes and the placements of a page, coded by adaptive binary models (numba).

One definition serves both sides: every decision goes through ``_bit`` with its probability
k / 2**24 (an exact integer), which records the encoder's bit (pushed in one constriction call at
the end) or pops the decoder's (coding.ans.kernel, in the same kernel). So the encoder and the
decoder run the same code on the same integers and cannot drift apart.

What text is: a placement is (class, top, left) in reading order (components.reading_order). Its
class is *new* (the next class of the dictionary, whose classes are numbered in order of first
placement) or an earlier one, coded bit by bit down a binary tree whose every node mixes (PAQ's
logistic mixing) the estimates given the two previous classes, the previous one and none: PPM's idea
for characters, with the shapes of a page in place of an alphabet. Its position: a new line's
baseline moves by the last line spacing plus a correction; on a line, the gap from the previous
glyph's right edge is guessed as the gap last seen between the same pair of classes (advance widths,
kerning), else after the previous class; the bottom edge as the line's baseline plus the class's
descent when last placed.
"""

from __future__ import annotations

import constriction
import numba
import numpy as np

from darncodec.coding.ans.kernel import pop_bit, to_coder, to_stack
from darncodec.coding.ans.streams import BERNOULLI
from darncodec.coding.mixing.tiled import BIAS_INPUT, KT_BITS, stretch_table
from darncodec.coding.network.fixed_point import PROB_BITS, TABLE_HALF
from darncodec.errors import FormatError

ONE = 1 << PROB_BITS
RATE_LIMIT = 30        # an estimate moves by 1/(n + 1.5) of its error, n at most this (then it keeps adapting)
CLASS_BITS = 16        # class indices below 2**16
MAX_CLASSES = 1 << CLASS_BITS
MAX_PLACEMENTS = 1 << 22   # a page's placements (a bound the decoder checks before it allocates)
EXPONENT_LIMIT = 40    # an Elias-gamma exponent beyond this is damage


class Recorder:
    """The encoder's bits and their k in coding order; ``push`` puts them on the stack so that they
    pop in that order."""

    def __init__(self, bits: np.ndarray, ks: np.ndarray) -> None:
        self.bits, self.ks = bits, ks

    def cost(self) -> float:
        """-log2 of the recorded bits' probabilities."""
        k = self.ks.astype(np.float64) / ONE
        return float(-np.log2(np.where(self.bits == 1, k, 1.0 - k)).sum())

    def push(self, coder: constriction.stream.stack.AnsCoder) -> None:
        if len(self.bits):
            coder.encode_reverse(self.bits.astype(np.int32), BERNOULLI, self.ks.astype(np.float64) / ONE)


# The placements' adaptive bits live in one table of 2**CONTEXT_BITS (m, n) entries, a context's entry
# at the top bits of a Fibonacci hash of its parts (contexts that collide share an entry, on both sides).
CONTEXT_BITS = 20
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
NEW, C2, C1, C0, NEWLINE, LINE_STEP, LINE_DX, GAP, DROP, COUNT, CLASSES, SIZE = range(1, 13)   # context names
EXPONENT, MANTISSA, NONZERO, NEGATIVE = 1, 2, 3, 4                          # parts of an integer's code
MIXER_RATE = 12        # class mixer's weight step: error * input * 12 / 2**24
NO_CLASS = -1


@numba.njit(cache=True)
def _slot(a, b, c, d):
    """The table entry of the context (a, b, c, d): a Fibonacci hash of the four integers (each taken
    modulo 2**48), chained, its top CONTEXT_BITS bits."""
    h = np.uint64(0)
    h = (h ^ np.uint64(np.int64(a) & 0xFFFFFFFFFFFF)) * GOLDEN
    h = (h ^ np.uint64(np.int64(b) & 0xFFFFFFFFFFFF)) * GOLDEN
    h = (h ^ np.uint64(np.int64(c) & 0xFFFFFFFFFFFF)) * GOLDEN
    h = (h ^ np.uint64(np.int64(d) & 0xFFFFFFFFFFFF)) * GOLDEN
    return np.int64(h >> np.uint64(64 - CONTEXT_BITS))


@numba.njit(cache=True)
def _estimate(table, slot):
    return min(max(table[slot, 0], 1 << 8), ONE - (1 << 8))


@numba.njit(cache=True)
def _learn(table, slot, bit):
    table[slot, 0] += ((bit << (PROB_BITS + 1)) - 2 * table[slot, 0]) // (2 * table[slot, 1] + 3)
    table[slot, 1] = min(table[slot, 1] + 1, RATE_LIMIT)


@numba.njit(cache=True)
def _bit(io, k, value):
    """Code one bit at P(1) = k / 2**24: record the encoder's ``value``, or pop the decoder's."""
    words, stack, bits, ks, at, decoding = io
    if decoding[0]:
        bit = pop_bit(words, stack, k)
    else:
        bit = value
        if at[0] == bits.shape[0]:
            raise IndexError("placements: record full")
        bits[at[0]], ks[at[0]] = bit, k
    at[0] += 1
    return bit


@numba.njit(cache=True)
def _adaptive(io, table, slot, value):
    bit = _bit(io, _estimate(table, slot), value)
    _learn(table, slot, bit)
    return bit


@numba.njit(cache=True)
def _unsigned(io, table, name, part, value):
    """value >= 0, Elias-gamma style (format.md: unsigned): the bit length of value + 1 in unary,
    then its bits below the leading one, each in its own context. Returns -1 for damage."""
    plus = value + 1
    exponent = 0
    while _adaptive(io, table, _slot(name, part, EXPONENT, exponent), 1 if (plus >> (exponent + 1)) > 0 else 0):
        exponent += 1
        if exponent > EXPONENT_LIMIT:
            return -1
    out = 1
    for i in range(exponent - 1, -1, -1):
        position = i if i >= exponent - 2 else -1
        bit = _adaptive(io, table, _slot(name, part, MANTISSA * 64 + exponent, position), (plus >> i) & 1)
        out = (out << 1) | bit
    return out - 1


@numba.njit(cache=True)
def _signed(io, table, name, part, value):
    """Any integer (format.md: signed); damage gives a magnitude of -1 - 1 (caught by the caller)."""
    if not _adaptive(io, table, _slot(name, part, NONZERO, 0), 1 if value != 0 else 0):
        return 0
    negative = _adaptive(io, table, _slot(name, part, NEGATIVE, 0), 1 if value < 0 else 0)
    magnitude = _unsigned(io, table, name, part, abs(value) - 1) + 1
    if magnitude == 0:
        return 1 << 40   # damage: out of any page
    return -magnitude if negative else magnitude


@numba.njit(cache=True)
def _class(io, table, weights, prob_table, stretch16, prev2, prev1, seen, classes, value):
    """A placement's class: new (the next one) or an earlier one, 16 bits down a binary tree, each
    node's bit from a mixer over the estimates given the two previous classes, the previous one,
    and none. Returns -1 for damage."""
    new = 0
    if seen < classes:
        new = _adaptive(io, table, _slot(NEW, 1 if prev1 == seen - 1 else 0, 0, 0), 1 if value == seen else 0)
    if new:
        return seen
    node = 1
    st = np.zeros(4, np.int64)
    slots = np.zeros(3, np.int64)
    for depth in range(CLASS_BITS):
        slots[0] = _slot(C2, prev2, prev1, node)
        slots[1] = _slot(C1, prev1, node, 0)
        slots[2] = _slot(C0, node, 0, 0)
        for i in range(3):
            k = _estimate(table, slots[i])
            st[i] = stretch16[min(max(k >> (PROB_BITS - KT_BITS), 1), (1 << KT_BITS) - 1)]
        st[3] = BIAS_INPUT
        row = (depth * 4 + min(table[slots[0], 1], 3)) * 4 + min(table[slots[1], 1], 3)
        z = np.int64(0)
        for i in range(4):
            z += weights[row, i] * st[i]
        z >>= 16
        k = prob_table[min(max(z, -TABLE_HALF), TABLE_HALF) + TABLE_HALF]
        bit = _bit(io, k, (value >> (CLASS_BITS - 1 - depth)) & 1)
        error = (np.int64(bit) << PROB_BITS) - k
        for i in range(4):
            weights[row, i] += (error * st[i] * MIXER_RATE) >> PROB_BITS
        for i in range(3):
            _learn(table, slots[i], bit)
        node = (node << 1) | bit
    value = node - (1 << CLASS_BITS)
    return value if value < seen else -1


@numba.njit(cache=True)
def _count(io, table, value):
    return _unsigned(io, table, COUNT, 0, value)


@numba.njit(cache=True)
def _sizes(io, table, out):
    """Each class's height and width, as the difference from the previous class's (encoder: ``out``
    holds them; decoder: fills it). Returns False for damage (a size below 1)."""
    previous_h, previous_w = 0, 0
    for c in range(out.shape[0]):
        out[c, 0] = previous_h + _signed(io, table, SIZE, 0, out[c, 0] - previous_h)
        out[c, 1] = previous_w + _signed(io, table, SIZE, 1, out[c, 1] - previous_w)
        if out[c, 0] < 1 or out[c, 1] < 1 or out[c, 0] > 1 << 20 or out[c, 1] > 1 << 20:
            return False
        previous_h, previous_w = out[c, 0], out[c, 1]
    return True


@numba.njit(cache=True)
def _placements(io, table, sizes, given, out, prob_table, stretch16):
    """Code (encoder: ``given``) or decode (into ``out``) every placement; returns False for damage.
    format.md, "Coder id 4", gives every step."""
    weights = np.zeros((CLASS_BITS * 16, 4), np.int64)
    weights[:, :3] = (1 << 16) // 3
    count = out.shape[0]
    classes = sizes.shape[0]
    descent = np.zeros(classes, np.int64)
    known = np.zeros(classes, np.bool_)
    gap_after = np.zeros(classes, np.int64)
    has_gap = np.zeros(classes, np.bool_)
    pair_gap = np.zeros(1 << CONTEXT_BITS, np.int64)      # the pair's last gap, at a hash of the pair ...
    pair_of = np.full(1 << CONTEXT_BITS, -1, np.int64)    # ... that holds which pair it is
    prev2, prev1, seen = NO_CLASS, NO_CLASS, 0
    baseline, spacing, line_left, left, right = 0, 0, 0, 0, 0
    decoding = io[5][0]
    for j in range(count):
        want_c, want_top, want_left = (0, 0, 0) if decoding else (given[j, 0], given[j, 1], given[j, 2])
        c = _class(io, table, weights, prob_table, stretch16, prev2, prev1, seen, classes, want_c)
        if c < 0:
            return False
        if c == seen:
            seen += 1
        height, width = sizes[c, 0], sizes[c, 1]
        want_bottom = want_top + height
        new_line = _adaptive(io, table, _slot(NEWLINE, 0, 0, 0), 1 if j == 0 or want_left < left else 0)
        is_known = known[c]
        guess_descent = descent[c] if is_known else 0
        if new_line:
            step = _signed(io, table, LINE_STEP, 1 if is_known else 0, want_bottom - guess_descent - baseline - spacing)
            spacing += step
            baseline += spacing
            line_left += _signed(io, table, LINE_DX, 0, want_left - line_left)
            new_left = line_left
        else:
            pair = prev1 * 65536 + c
            at = _slot(pair, 0, 0, 0)
            if pair_of[at] == pair:
                source, guess = 2, pair_gap[at]
            elif has_gap[prev1]:
                source, guess = 1, gap_after[prev1]
            else:
                source, guess = 0, 0
            gap = guess + _signed(io, table, GAP, source, want_left - right - guess)
            pair_of[at], pair_gap[at] = pair, gap
            gap_after[prev1], has_gap[prev1] = gap, True
            new_left = right + gap
        guess = baseline + guess_descent
        bottom = guess + _signed(io, table, DROP, (2 if is_known else 0) + new_line, want_bottom - guess)
        descent[c], known[c] = bottom - baseline, True
        left, right = new_left, new_left + width
        out[j, 0], out[j, 1], out[j, 2] = c, bottom - height, new_left
        prev2, prev1 = prev1, c
    return seen == classes


class _Stream:
    """The symbol stage's bits of one page through the stack, in the kernels: the encoder records
    (bit, k) and pushes them at the end in one call (``push``); the decoder pops from a copy of the
    stack in numba's hands (``finish`` hands it back as a coder). One table of contexts throughout."""

    def __init__(self, coder: constriction.stream.stack.AnsCoder | None, room: int = 0) -> None:
        self.decoding = coder is not None
        if self.decoding:
            words, stack = to_stack(coder, spare=0)
        else:
            words, stack = np.zeros(1, np.uint32), np.zeros(2, np.uint64)
        self.io = (words, stack, np.zeros(room, np.int64), np.zeros(room, np.int64), np.zeros(1, np.int64),
                   np.array([self.decoding]))
        self.table = np.zeros((1 << CONTEXT_BITS, 2), np.int64)
        self.table[:, 0] = ONE >> 1

    def recorded(self) -> Recorder:
        used = self.io[4][0]
        return Recorder(self.io[2][:used].copy(), self.io[3][:used].copy())

    def coder(self) -> constriction.stream.stack.AnsCoder:
        return to_coder(self.io[0], self.io[1])


def encode_sizes(sizes: np.ndarray) -> Recorder:
    """The number of classes (at most MAX_CLASSES) and their sizes."""
    stream = _Stream(None, 64 + 200 * len(sizes))
    _count(stream.io, stream.table, len(sizes))
    _sizes(stream.io, stream.table, np.ascontiguousarray(sizes, np.int64).reshape(-1, 2).copy())
    return stream.recorded()


def decode_sizes(coder: constriction.stream.stack.AnsCoder) -> tuple[np.ndarray, constriction.stream.stack.AnsCoder]:
    stream = _Stream(coder)
    count = _count(stream.io, stream.table, 0)
    if not 0 <= count <= MAX_CLASSES:
        raise FormatError("damaged .darn payload (symbol stage: too many classes)")
    sizes = np.zeros((count, 2), np.int64)
    if not _sizes(stream.io, stream.table, sizes):
        raise FormatError("damaged .darn payload (symbol stage: a class of impossible size)")
    return sizes, stream.coder()


def encode_placements(sizes: np.ndarray, placements: np.ndarray, prob_table: np.ndarray) -> Recorder:
    """(class, top, left) of every placement in reading order; sizes: the classes' (height, width);
    ``prob_table``: the page model's probability table (the class mixer's squash and, through coder
    2's stretch table, its stretch)."""
    placements = np.ascontiguousarray(placements, np.int64).reshape(-1, 3)
    stream = _Stream(None, 64 + 200 * len(placements))
    _count(stream.io, stream.table, len(placements))
    _placements(stream.io, stream.table, np.ascontiguousarray(sizes, np.int64).reshape(-1, 2), placements,
                np.zeros_like(placements), *_squash_stretch(prob_table))
    return stream.recorded()


def decode_placements(coder: constriction.stream.stack.AnsCoder, sizes: np.ndarray, prob_table: np.ndarray,
                      most: int) -> tuple[np.ndarray, constriction.stream.stack.AnsCoder]:
    """The placements back (at most ``most`` of them: a bound from the page's size)."""
    stream = _Stream(coder)
    count = _count(stream.io, stream.table, 0)
    if not 0 <= count <= most:
        raise FormatError("damaged .darn payload (symbol stage: more placements than the page holds)")
    out = np.zeros((count, 3), np.int64)
    if not _placements(stream.io, stream.table, np.ascontiguousarray(sizes, np.int64).reshape(-1, 2),
                       np.zeros((0, 3), np.int64), out, *_squash_stretch(prob_table)):
        raise FormatError("damaged .darn payload (symbol stage: placements that cannot be)")
    return out, stream.coder()


def _squash_stretch(prob_table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    table = np.ascontiguousarray(prob_table, np.int64)
    return table, stretch_table(table).astype(np.int64)
