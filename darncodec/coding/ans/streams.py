"""constriction's AnsCoder as the codec uses it: arrays of Bernoulli symbols in, arrays out.

Every symbol is coded with ``Bernoulli(perfect=False)`` (constriction 0.5) at a probability the
caller computed exactly (an integer k / 2**24, docs/coding.md); one coder call per batch of symbols.
"""

from __future__ import annotations

from collections.abc import Iterator

import constriction
import numpy as np

BERNOULLI = constriction.stream.model.Bernoulli(perfect=False)
CHUNK = 1 << 20   # symbols per coder call of push_in_order


def push(coder: constriction.stream.stack.AnsCoder, values: np.ndarray, probs: np.ndarray,
         mask: np.ndarray | None = None) -> None:
    """Push (tiles, units) values under P(1) = probs, unit-major (what popper pops back unit by unit),
    only where ``mask`` is set."""
    push_in_order(coder, *unit_major(values, probs, mask))


def unit_major(values: np.ndarray, probs: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tiles, units) values and probabilities as 1-D runs, unit by unit over the tiles (where ``mask``)."""
    if mask is None:
        return values.T.ravel(), probs.T.ravel()
    return values.T[mask.T], probs.T[mask.T]


def push_in_order(coder: constriction.stream.stack.AnsCoder, values: np.ndarray, probs: np.ndarray) -> None:
    """Push values under P(1) = probs (1-D) so that the decoder pops values[0] first."""
    for start, stop in chunks_last_first(len(values)):
        coder.encode_reverse(np.ascontiguousarray(values[start:stop], dtype=np.int32), BERNOULLI,
                             np.ascontiguousarray(probs[start:stop], dtype=np.float64))


def chunks_last_first(n: int) -> Iterator[tuple[int, int]]:
    """(start, stop) of CHUNK symbols each, last first: pushing a long run chunk by chunk in this
    order is one push of the whole run, with only a chunk's int32 and float64 copies in memory."""
    for stop in range(n, 0, -CHUNK):
        yield max(stop - CHUNK, 0), stop


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
