"""Numba port of constriction's ``AnsCoder<u32, u64>`` for Bernoulli symbols.

This module reimplements, bit for bit, what ``constriction`` 0.5.0 does when
``constriction.stream.stack.AnsCoder`` encodes/decodes a single bit with
``constriction.stream.model.Bernoulli(perfect=False)`` and ``p = k / 2**24``.
It lets a ``@numba.njit`` hot loop push and pop bits itself in the middle of a
stream that constriction also reads and writes.

Sources followed (github.com/bamler-lab/constriction):

* ``src/stream/stack.rs``: ``AnsCoder::encode_symbol``, ``decode_symbol``,
  ``from_compressed`` (``read_initial_state``), ``get_compressed``
  (``CoderGuard``), ``is_empty``; ``DefaultAnsCoder = AnsCoder<u32, u64>``.
* ``src/pybindings/stream/model.rs``: ``Bernoulli(perfect=False)`` is
  ``DefaultContiguousCategoricalEntropyModel::from_floating_point_probabilities_fast(
  &[1 - p, p], None)`` at ``PRECISION = 24``.
* ``src/stream/model/categorical.rs``: ``fast_quantized_cdf``.

Quantisation (verified against constriction for every k in 1..2**24-1):
``fast_quantized_cdf`` gives ``cdf(1) = floor((1 - p) * (2**24 - 2)) + 1``,
which for ``p = k / 2**24`` is exact in float64 and simplifies to::

    prob1(k) = k + 1   if k <  2**23
    prob1(k) = k       if k >= 2**23
    prob0(k) = 2**24 - prob1(k)

Symbol 0 occupies the lower quantiles ``[0, prob0)``, symbol 1 ``[prob0, 2**24)``.

Coder arithmetic (``Word = u32``, ``State = u64``, ``PRECISION = 24``):

* push (encode): if ``head >> 40 >= prob``, append ``head & 0xFFFFFFFF`` to the
  bulk and ``head >>= 32``; then
  ``head = ((head // prob) << 24) | (cum + head % prob)``.
* pop (decode): ``q = head & (2**24 - 1)``; ``bit = q >= prob0``;
  ``head = (head >> 24) * prob + (q - cum)``; if ``head < 2**32`` and the bulk is
  non-empty, ``head = (head << 32) | bulk.pop()``.  Popping an empty stack
  (``head == 0``) yields 0 and leaves it empty, as in constriction.

Invariant: ``head >= 2**32`` whenever the bulk is non-empty; ``head == 0`` means
empty.  ``get_compressed()`` is ``bulk + [head & 0xFFFFFFFF, head >> 32]`` with the
high (and then low) word dropped while it is zero, i.e. ``[]`` for an empty coder,
``[lo]`` for ``0 < head < 2**32`` and ``[..., lo, hi]`` otherwise.  The
constructor ``AnsCoder(words)`` reverses this exactly (it reads the last word,
which must be nonzero, and one more word while the state is below ``2**32``).

Representation used here: ``words`` is a ``uint32`` array whose first
``state[0]`` entries are the bulk (the rest is spare capacity for pushes), and
``state`` is a ``uint64`` array of length 2 holding ``(length, head)``.
"""

from __future__ import annotations

import constriction
import numba
import numpy as np

from darncodec.coding.jit import loop

__all__ = [
    "PRECISION",
    "bernoulli_prob1",
    "grow",
    "is_empty",
    "num_words",
    "pop_bit",
    "push_bit",
    "to_coder",
    "to_stack",
]

PRECISION = 24
_ONE = np.uint64(1)
_PREC = np.uint64(PRECISION)
_TOTAL = np.uint64(1 << PRECISION)
_HALF = np.uint64(1 << (PRECISION - 1))
_QMASK = np.uint64((1 << PRECISION) - 1)
_WORD_BITS = np.uint64(32)
_WORD_MASK = np.uint64(0xFFFFFFFF)
_FLUSH_SHIFT = np.uint64(64 - PRECISION)
_STATE_LOW = np.uint64(1 << 32)


@numba.njit(cache=True, inline="always")
def bernoulli_prob1(k: int) -> np.uint64:
    """Integer probability (out of 2**24) that constriction assigns to bit 1.

    ``k`` is the caller's probability of a 1 in units of 2**-24
    (``1 <= k <= 2**24 - 1``), i.e. the model ``Bernoulli(k / 2**24, perfect=False)``.
    """
    kk = np.uint64(k)
    if kk < _HALF:
        return kk + _ONE
    return kk


@loop
def pop_bit(words: np.ndarray, state: np.ndarray, k: int) -> int:
    """Decode (pop) one bit with ``P(1) = k / 2**24``; updates ``state`` in place."""
    prob1 = bernoulli_prob1(k)
    prob0 = _TOTAL - prob1
    head = state[1]
    quantile = head & _QMASK
    if quantile >= prob0:
        bit = 1
        head = (head >> _PREC) * prob1 + (quantile - prob0)
    else:
        bit = 0
        head = (head >> _PREC) * prob0 + quantile
    if head < _STATE_LOW:
        length = state[0]
        if length > np.uint64(0):
            length -= _ONE
            head = (head << _WORD_BITS) | np.uint64(words[length])
            state[0] = length
    state[1] = head
    return bit


@loop
def push_bit(words: np.ndarray, state: np.ndarray, bit: int, k: int) -> None:
    """Encode (push) one bit with ``P(1) = k / 2**24``; updates ``words``/``state``.

    Raises ``IndexError`` if a word must be flushed but ``words`` has no spare
    capacity; use :func:`grow` beforehand (each push flushes at most one word).
    """
    prob1 = bernoulli_prob1(k)
    prob0 = _TOTAL - prob1
    if bit:
        prob = prob1
        cum = prob0
    else:
        prob = prob0
        cum = np.uint64(0)
    head = state[1]
    if (head >> _FLUSH_SHIFT) >= prob:
        length = state[0]
        if length >= np.uint64(words.shape[0]):
            raise IndexError("ans.push_bit: words array is full; call grow() first")
        words[length] = np.uint32(head & _WORD_MASK)
        state[0] = length + _ONE
        head = head >> _WORD_BITS
    state[1] = ((head // prob) << _PREC) | (cum + head % prob)


@numba.njit(cache=True)
def grow(words: np.ndarray, state: np.ndarray, min_free: int) -> np.ndarray:
    """Return ``words`` if it has ``min_free`` spare slots, else a larger copy."""
    length = np.int64(state[0])
    if words.shape[0] - length >= min_free:
        return words
    new = np.empty(max(2 * words.shape[0], length + min_free), dtype=np.uint32)
    new[:length] = words[:length]
    return new


@loop
def is_empty(state: np.ndarray) -> bool:
    """True iff the stack holds no data (constriction's ``is_empty``)."""
    return state[1] == np.uint64(0)


@loop
def num_words(state: np.ndarray) -> int:
    """Length of constriction's ``get_compressed()`` for this stack."""
    head = state[1]
    n = np.int64(state[0])
    if head >= _STATE_LOW:
        return n + 2
    if head > np.uint64(0):
        return n + 1
    return n


def _head_words(head: int) -> list[int]:
    """The words constriction appends after the bulk for state ``head``."""
    if head == 0:
        return []
    if head < (1 << 32):
        return [head]
    return [head & 0xFFFFFFFF, head >> 32]


def to_stack(
    coder: constriction.stream.stack.AnsCoder, spare: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Convert a constriction ``AnsCoder`` into ``(words, state)``.

    ``words`` gets at least ``spare`` unused slots after the bulk.  The coder is
    not modified.  The head is recovered from ``get_compressed()`` exactly as
    constriction's constructor does.
    """
    comp = np.asarray(coder.get_compressed(), dtype=np.uint32)
    n = comp.shape[0]
    head = 0
    if n > 0:
        head = int(comp[n - 1])
        n -= 1
        if n > 0 and head < (1 << 32):
            head = (head << 32) | int(comp[n - 1])
            n -= 1
    words = np.zeros(n + max(int(spare), 1), dtype=np.uint32)
    words[:n] = comp[:n]
    state = np.array([n, head], dtype=np.uint64)
    return words, state


def to_coder(
    words: np.ndarray, state: np.ndarray
) -> constriction.stream.stack.AnsCoder:
    """Build a constriction ``AnsCoder`` holding exactly this stack."""
    length = int(state[0])
    head = int(state[1])
    if length > 0 and head < (1 << 32):
        raise ValueError("invalid ANS stack: head < 2**32 with a non-empty bulk")
    comp = np.concatenate(
        [
            np.asarray(words[:length], dtype=np.uint32),
            np.array(_head_words(head), dtype=np.uint32),
        ]
    )
    if comp.shape[0] == 0:
        return constriction.stream.stack.AnsCoder()
    return constriction.stream.stack.AnsCoder(comp)
