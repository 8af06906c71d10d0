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
from darncodec.coding.network.fixed_point import PROB_BITS
from darncodec.errors import FormatError

ONE = 1 << PROB_BITS
RATE_LIMIT = 30        # an estimate moves by 1/(n + 1.5) of its error, n at most this (then it keeps adapting)
CLASS_BITS = 16        # class indices below 2**16 (components.find_symbols keeps at most this many classes)
MAX_CLASSES = 1 << CLASS_BITS
EXPONENT_LIMIT = 40    # an Elias-gamma exponent beyond this is damage
MIN_SEEN = 2           # a context of the class model is used once its node has seen this many classes


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

    def code(self, sink: BitSink, key: tuple, value: int | None) -> int:
        entry = self.state.setdefault(key, [ONE >> 1, 0])
        k = min(max(entry[0], 1 << 8), ONE - (1 << 8))
        bit = sink.bit(k, value)
        entry[0] += ((bit << (PROB_BITS + 1)) - 2 * entry[0]) // (2 * entry[1] + 3)
        entry[1] = min(entry[1] + 1, RATE_LIMIT)
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


class ClassModel:
    """The class of each placement: new (the next class) or an earlier one (a binary tree over
    CLASS_BITS bits, each node's estimate from the two previous classes, the previous one, or none)."""

    def __init__(self) -> None:
        self.models = Adaptive()
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
            contexts = (("c2", history, node), ("c1", history[1], node), ("c0", node))
            key = next((key for key in contexts if self.models.seen(key) >= MIN_SEEN), contexts[-1])
            bit = self.models.code(sink, key, None if value is None else (value >> (CLASS_BITS - 1 - depth)) & 1)
            for other in contexts:   # every order learns from the bit (the chosen one just did)
                if other != key:
                    self.models.code(_Silent(bit), other, bit)
            node = (node << 1) | bit
        value = node - (1 << CLASS_BITS)
        if value >= self.seen:
            raise FormatError("damaged .darn payload (symbol stage: a class placed before it was new)")
        return value


class _Silent:
    """A sink that codes nothing: lets a model learn a bit coded under another context."""

    def __init__(self, bit: int) -> None:
        self.value = bit

    def bit(self, k: int, value: int | None) -> int:
        return self.value


def code_placements(sink: BitSink, sizes: np.ndarray, placements: np.ndarray | None,
                    count: int | None = None) -> np.ndarray:
    """(class, top, left) of every placement in reading order; sizes: the classes' (height, width)."""
    models, classes = Adaptive(), ClassModel()
    count = models.unsigned(sink, ("placements",), None if placements is None else len(placements))
    if count > 64 * MAX_CLASSES:
        raise FormatError("damaged .darn payload (symbol stage: too many placements)")
    out = np.zeros((count, 3), np.int64)
    history = (-1, -1)
    line_top, line_left, line_bottom = 0, 0, 0      # the current line's first glyph
    top, left, bottom, right = 0, 0, 0, 0           # the previous glyph
    pairs: dict[tuple[int, int], tuple[int, int]] = {}
    for j in range(count):
        given = None if placements is None else placements[j]
        c = classes.code(sink, history, None if given is None else int(given[0]), len(sizes))
        height, width = int(sizes[c, 0]), int(sizes[c, 1])
        want_top = None if given is None else int(given[1])
        want_left = None if given is None else int(given[2])
        new_line = models.code(sink, ("newline",), None if given is None else int(j == 0 or want_left < left))
        if new_line:
            dy = models.signed(sink, ("line dy",), None if given is None else want_top + height - line_bottom)
            dx = models.signed(sink, ("line dx",), None if given is None else want_left - line_left)
            new_bottom, new_left = line_bottom + dy, line_left + dx
            line_bottom, line_left = new_bottom, new_left
        else:
            pair = (history[1], c)
            gap = None if given is None else want_left - right
            drop = None if given is None else want_top + height - bottom
            repeat = 0
            if pair in pairs:
                repeat = models.code(sink, ("repeat",), None if given is None else int(pairs[pair] == (gap, drop)))
            if repeat:
                gap, drop = pairs[pair]
            else:
                gap = models.signed(sink, ("gap",), gap)
                drop = models.signed(sink, ("drop",), drop)
            pairs[pair] = (gap, drop)
            new_bottom, new_left = bottom + drop, right + gap
        top, left = new_bottom - height, new_left
        bottom, right = new_bottom, new_left + width
        out[j] = (c, top, left)
        history = (history[1], c)
    if classes.seen != len(sizes):
        raise FormatError("damaged .darn payload (symbol stage: a class never placed)")
    return out
