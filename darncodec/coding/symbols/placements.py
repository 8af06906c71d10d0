"""The dictionary's sizes and the placements of a page, coded by adaptive binary models.

One definition serves both sides: every model asks a ``BitSink`` for each binary decision with its
probability k / 2**24 (an exact integer), and the sink either records the encoder's bit (Recorder,
pushed in one constriction call at the end) or pops the decoder's (Reader). So the encoder and the
decoder run the same code on the same integers and cannot drift apart.

What text is: a placement is (class, top, left) in reading order (components.reading_order). Its
class is *new* (the next class of the dictionary, whose classes are numbered in order of first
placement) or an earlier one, coded bit by bit down a binary tree whose node probabilities come from
the two previous classes when that context has been seen, else from the previous class, else from
none (PPM's idea for characters, with the shapes of a page in place of an alphabet). Its position is
the gap from the previous glyph's right edge and the offset of its bottom edge (same line), or the
offset from the previous line's first glyph (new line); where the same pair of classes occurred
before on a line, one bit says whether the pair's offsets repeat (advance widths, kerning, baselines).
"""

from __future__ import annotations

from typing import Protocol

import constriction
import numpy as np

from darncodec.coding.ans.streams import BERNOULLI
from darncodec.coding.mixing.tiled import BIAS_INPUT, KT_BITS, stretch_table
from darncodec.coding.network.fixed_point import PROB_BITS, TABLE_HALF
from darncodec.errors import FormatError

ONE = 1 << PROB_BITS
RATE_LIMIT = 30        # an estimate moves by 1/(n + 1.5) of its error, n at most this (then it keeps adapting)
CLASS_BITS = 16        # class indices below 2**16 (components.find_symbols keeps at most this many classes)
MAX_CLASSES = 1 << CLASS_BITS
EXPONENT_LIMIT = 40    # an Elias-gamma exponent beyond this is damage


class BitSink(Protocol):
    def bit(self, k: int, value: int | None) -> int: ...


class Recorder:
    """Encoder: records (bit, k) in coding order; ``push`` puts them on the stack so that they pop
    in that order."""

    def __init__(self) -> None:
        self.bits: list[int] = []
        self.ks: list[int] = []

    def bit(self, k: int, value: int | None) -> int:
        self.bits.append(int(value))
        self.ks.append(k)
        return int(value)

    def cost(self) -> float:
        """-log2 of the recorded bits' probabilities."""
        k = np.asarray(self.ks, np.float64) / ONE
        bits = np.asarray(self.bits)
        return float(-np.log2(np.where(bits == 1, k, 1.0 - k)).sum())

    def push(self, coder: constriction.stream.stack.AnsCoder) -> None:
        if self.bits:
            coder.encode_reverse(np.asarray(self.bits, np.int32), BERNOULLI, np.asarray(self.ks, np.float64) / ONE)


class Reader:
    """Decoder: pops each bit from ``coder``."""

    def __init__(self, coder: constriction.stream.stack.AnsCoder) -> None:
        self.coder = coder

    def bit(self, k: int, value: int | None = None) -> int:
        return int(self.coder.decode(BERNOULLI, np.array([k / ONE]))[0])


class Adaptive:
    """Binary models by context key: a running mean of the bits seen in the context (integer,
    scale 2**24), moving by 1/(n + 1.5) of its error after n bits (n capped at RATE_LIMIT)."""

    def __init__(self) -> None:
        self.state: dict[tuple, list[int]] = {}

    def seen(self, key: tuple) -> int:
        return self.state[key][1] if key in self.state else 0

    def estimate(self, key: tuple) -> int:
        """k of P(1) = k / 2**24 in the context (1/2 for a context never seen)."""
        entry = self.state.get(key)
        return ONE >> 1 if entry is None else min(max(entry[0], 1 << 8), ONE - (1 << 8))

    def learn(self, key: tuple, bit: int) -> None:
        entry = self.state.setdefault(key, [ONE >> 1, 0])
        entry[0] += ((bit << (PROB_BITS + 1)) - 2 * entry[0]) // (2 * entry[1] + 3)
        entry[1] = min(entry[1] + 1, RATE_LIMIT)

    def code(self, sink: BitSink, key: tuple, value: int | None) -> int:
        bit = sink.bit(self.estimate(key), value)
        self.learn(key, bit)
        return bit

    def unsigned(self, sink: BitSink, key: tuple, value: int | None) -> int:
        """An integer >= 0, Elias-gamma style: the bit length of value + 1 in unary, then the bits
        below its leading one, each with its own context."""
        plus = None if value is None else value + 1
        exponent = 0
        while self.code(sink, (key, "e", exponent), None if plus is None else int(plus >> (exponent + 1) > 0)):
            exponent += 1
            if exponent > EXPONENT_LIMIT:
                raise FormatError("damaged .darn payload (symbol stage: an integer out of range)")
        out = 1
        for i in reversed(range(exponent)):
            bit = self.code(sink, (key, "m", exponent, i if i >= exponent - 2 else -1),
                            None if plus is None else (plus >> i) & 1)
            out = (out << 1) | bit
        return out - 1

    def signed(self, sink: BitSink, key: tuple, value: int | None) -> int:
        if not self.code(sink, (key, "nz"), None if value is None else int(value != 0)):
            return 0
        negative = self.code(sink, (key, "neg"), None if value is None else int(value < 0))
        magnitude = self.unsigned(sink, key, None if value is None else abs(value) - 1) + 1
        return -magnitude if negative else magnitude


def code_sizes(sink: BitSink, sizes: np.ndarray | None, count: int | None = None) -> np.ndarray:
    """The number of classes and each class's (height, width), each relative to the previous class's."""
    models = Adaptive()
    count = models.unsigned(sink, ("classes",), None if sizes is None else len(sizes))
    if count > MAX_CLASSES:
        raise FormatError("damaged .darn payload (symbol stage: too many classes)")
    out = np.zeros((count, 2), np.int64)
    previous = (0, 0)
    for c in range(count):
        for d in range(2):
            delta = None if sizes is None else int(sizes[c, d]) - previous[d]
            out[c, d] = previous[d] + models.signed(sink, ("size", d), delta)
            if out[c, d] < 1:
                raise FormatError("damaged .darn payload (symbol stage: a class of zero size)")
        previous = (int(out[c, 0]), int(out[c, 1]))
    return out


class Mixer2:
    """Logistic mixing of binary estimates (PAQ): P(1) = squash(sum_i w_i stretch(p_i)), one weight
    set per ``select``, each step moving the set's weights along the gradient of the code length.
    Integers only: stretch and squash are the model's tables (coding.mixing.tiled.stretch_table and
    the probability table), weights at scale 2**16."""

    RATE = 12            # weight step: error * input * 6 / 2**24 (error at 2**24, input at 2**7 per logit)

    def __init__(self, prob_table: np.ndarray, inputs: int) -> None:
        self.prob_table = [int(k) for k in prob_table]
        self.stretch = [int(s) for s in stretch_table(np.asarray(prob_table, np.int64))]
        self.inputs = inputs
        self.weights: dict[tuple, list[int]] = {}

    def code(self, sink: BitSink, select: tuple, estimates: list[int], value: int | None) -> int:
        st = [self.stretch[min(max(k >> (PROB_BITS - KT_BITS), 1), (1 << KT_BITS) - 1)] for k in estimates]
        st.append(BIAS_INPUT)
        weights = self.weights.setdefault(select, [(1 << 16) // self.inputs] * self.inputs + [0])
        z = sum(w * s for w, s in zip(weights, st)) >> 16
        k = self.prob_table[min(max(z, -TABLE_HALF), TABLE_HALF) + TABLE_HALF]
        bit = sink.bit(k, value)
        error = (bit << PROB_BITS) - k
        for i, s in enumerate(st):
            weights[i] += (error * s * self.RATE) >> 24
        return bit


class ClassModel:
    """The class of each placement: new (the next class) or an earlier one, a binary tree over
    CLASS_BITS bits whose every node mixes three estimates: given the two previous classes, the
    previous one, and none (orders 2, 1, 0), the mixer's weights chosen by how often the two
    higher orders have seen the node."""

    def __init__(self, prob_table: np.ndarray) -> None:
        self.models = Adaptive()
        self.mixer = Mixer2(prob_table, 3)
        self.seen = 0

    def code(self, sink: BitSink, history: tuple[int, int], value: int | None, classes: int) -> int:
        new = 0
        if self.seen < classes:
            new = self.models.code(sink, ("new", history[1] == self.seen - 1), None if value is None else
                                   int(value == self.seen))
        if new:
            self.seen += 1
            return self.seen - 1
        node = 1
        for depth in range(CLASS_BITS):
            keys = (("c2", history, node), ("c1", history[1], node), ("c0", node))
            estimates = [self.models.estimate(key) for key in keys]
            select = (depth, min(self.models.seen(keys[0]), 3), min(self.models.seen(keys[1]), 3))
            bit = self.mixer.code(sink, select, estimates, None if value is None else
                                  (value >> (CLASS_BITS - 1 - depth)) & 1)
            for key in keys:
                self.models.learn(key, bit)
            node = (node << 1) | bit
        value = node - (1 << CLASS_BITS)
        if value >= self.seen:
            raise FormatError("damaged .darn payload (symbol stage: a class placed before it was new)")
        return value


def code_placements(sink: BitSink, sizes: np.ndarray, placements: np.ndarray | None,
                    prob_table: np.ndarray) -> np.ndarray:
    """(class, top, left) of every placement in reading order; sizes: the classes' (height, width);
    ``prob_table``: the model's probability table (the mixer's squash)."""
    models, classes = Adaptive(), ClassModel(prob_table)
    count = models.unsigned(sink, ("placements",), None if placements is None else len(placements))
    if count > 64 * MAX_CLASSES:
        raise FormatError("damaged .darn payload (symbol stage: too many placements)")
    out = np.zeros((count, 3), np.int64)
    history = (-1, -1)
    baseline, spacing, line_left = 0, 0, 0   # the current line's baseline, its distance from the previous
    left, right = 0, 0                       # line's, the line's first left edge; the previous glyph's edges
    descent: dict[int, int] = {}             # a class's bottom less its line's baseline, when last placed
    gap_after: dict[int, int] = {}           # the gap after a class, when last followed on its line
    pairs: dict[tuple[int, int], int] = {}   # the gap between a pair of classes, when last adjacent
    for j in range(count):
        given = None if placements is None else placements[j]
        c = classes.code(sink, history, None if given is None else int(given[0]), len(sizes))
        height, width = int(sizes[c, 0]), int(sizes[c, 1])
        want_bottom = None if given is None else int(given[1]) + height
        want_left = None if given is None else int(given[2])
        new_line = models.code(sink, ("newline",), None if given is None else int(j == 0 or want_left < left))
        known = c in descent
        if new_line:
            step = None if given is None else want_bottom - descent.get(c, 0) - baseline - spacing
            step = models.signed(sink, ("line step", known), step)
            spacing += step
            baseline += spacing
            line_left += models.signed(sink, ("line dx",), None if given is None else want_left - line_left)
            new_left = line_left
        else:
            pair = (history[1], c)
            gap = None if given is None else want_left - right
            source = 2 if pair in pairs else int(history[1] in gap_after)
            guess = pairs[pair] if source == 2 else gap_after.get(history[1], 0)
            gap = guess + models.signed(sink, ("gap", source), None if gap is None else gap - guess)
            pairs[pair] = gap_after[history[1]] = gap
            new_left = right + gap
        guess = baseline + descent.get(c, 0)
        new_bottom = guess + models.signed(sink, ("drop", known, new_line), None if given is None else
                                           want_bottom - guess)
        descent[c] = new_bottom - baseline
        left, right = new_left, new_left + width
        out[j] = (c, new_bottom - height, new_left)
        history = (history[1], c)
    if classes.seen != len(sizes):
        raise FormatError("damaged .darn payload (symbol stage: a class never placed)")
    return out
