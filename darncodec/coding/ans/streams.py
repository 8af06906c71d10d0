"""constriction's AnsCoder as the codec uses it: arrays of Bernoulli symbols in, arrays out.

Every symbol is coded with ``Bernoulli(perfect=False)`` (constriction 0.5) at a probability the
caller computed exactly (an integer k / 2**24, docs/coding.md); one coder call per batch of symbols.
"""

from __future__ import annotations

import constriction
import numpy as np

BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)


def push(coder: constriction.stream.stack.AnsCoder, values: np.ndarray, probs: np.ndarray,
         mask: np.ndarray | None = None, order: np.ndarray | None = None) -> None:
    """Push (tiles, units) values under P(1) = probs, unit-major or in ``order`` ((tile, unit) rows,
    the order the decoder pops them in); only where ``mask`` is set."""
    if order is not None:
        if mask is not None:
            order = order[mask[order[:, 0], order[:, 1]]]
        values_t, probs_t = values[order[:, 0], order[:, 1]], probs[order[:, 0], order[:, 1]]
    else:
        values_t, probs_t = values.T, probs.T
        if mask is not None:
            values_t, probs_t = values_t[mask.T], probs_t[mask.T]
    coder.encode_reverse(np.ascontiguousarray(values_t, dtype=np.int32).ravel(), BERNOULLI,
                         np.ascontiguousarray(probs_t, dtype=np.float64).ravel())


def popper(coder: constriction.stream.stack.AnsCoder, mask: np.ndarray | None = None):
    """A ``draw(unit, probs)`` that pops one unit for every tile (where ``mask`` allows)."""
    whole = None if mask is None else mask.all(axis=0)

    def draw(unit: int, probs: np.ndarray) -> np.ndarray:
        if whole is None or whole[unit]:
            return coder.decode(BERNOULLI, np.ascontiguousarray(probs, dtype=np.float64))
        values = np.zeros(len(probs), np.int32)
        live = mask[:, unit]
        if live.any():
            values[live] = coder.decode(BERNOULLI, np.ascontiguousarray(probs[live], dtype=np.float64))
        return values

    return draw


def push_flags(coder: constriction.stream.stack.AnsCoder, flags: list[bool]) -> None:
    """Push yes/no flags at one bit each (what the decoder pops first)."""
    coder.encode_reverse(np.asarray(flags, np.int32), BERNOULLI, np.full(len(flags), 0.5))


def pop_flags(coder: constriction.stream.stack.AnsCoder, count: int) -> list[bool]:
    return [bool(f) for f in coder.decode(BERNOULLI, np.full(count, 0.5))] if count else []
