"""Monte Carlo bits-back with S particles (coder id 5; Ruan et al., "Improving Lossless Compression
Rates via Monte Carlo Bits-Back Coding", ICML 2021: its importance-sampling extended latent space).

A batch of tiles x with n particles is pushed by (docs/format.md, *Coder id 5*):

1. pop h_1 .. h_n ~ q(h|x) (the n particles of every tile, one pop of n * tiles rows);
2. pop the index j of every tile under the categorical with probabilities proportional to the
   importance weights w_i = p(x, h_i) / q(h_i|x) (the importance sampling of the DARN paper's
   Eq. 16; here in integers, below);
3. push every h_i, i != j, under q(h_i|x);
4. push x under p(x|h_j), then h_j under the prior p(h);
5. push j under the uniform distribution on n.

The net cost of a tile is -log2 p(x, h_j) + log2 q(h_j|x) + log2 P(j) + log2 n (popping j took
-log2 P(j) bits, pushing it cost log2 n) with P(j) = w_j / sum_i w_i, that is -log2((1/n) sum_i w_i): the n-sample importance-weighted bound (IWAE, Burda et al. 2016),
which approaches -log2 p(x) as n grows. Decoding inverts every step: pop j, pop h_j and x, pop the
other particles under q (x is known now), recompute the weights, push j under them, push all n
particles under q.

The decoder must recompute the index distribution bit for bit, so it is made of integers only:
each unit's cost -log2 P is an integer at scale 2**16 read from a table built by integer arithmetic
from the model's probability table (``cost_tables``); a particle's log-weight is the exact sum of its
units' costs; the weights are 2**24 * 2**(-d) for d its distance in bits from the tile's largest
log-weight, from a 256-entry table of integer roots (``weight_table``); and j is coded as a path of
Bernoulli splits of the particle range, each P(right) = floor(W_right * 2**24 / W_range) (``push_index``).

Extra initial bits: step 1 takes n times the bits of one-particle bits back before anything is
pushed, and a coder that holds fewer bits gives them at a loss. So the encoder chooses each batch's
particle count n (0: no bits back, h the mode of q) from what the coder holds, sends the counts
(``push_counts``), and the batches grow with the tiles already coded (``particle_schedule``).
"""

from __future__ import annotations

import functools

import constriction
import numpy as np

from darncodec.coding.ans.streams import BERNOULLI, popper, push
from darncodec.coding.bitsback import BitsBackCodec
from darncodec.coding.network.elbo import TileIndices, information_bits, tile_indices
from darncodec.coding.network.fixed_point import PROB_BITS
from darncodec.coding.network.integer_model import IntegerDARN

DEFAULT_PARTICLES = 16      # compress --particles (docs/results.md: bits against time on MNIST)
COST_BITS = 16              # unit costs and log-weights are integers at scale 2**16 (bits)
WEIGHT_STEP_BITS = 8        # weights step by 2**(-1/256) below the tile's largest
FULL_K = 15 << 20           # P(a batch has all S particles) = 15/16 in the count symbols
PARTICLE_MARGIN = 1.25      # a batch pops n particles only if the coder holds this many times their bits
                            # (chosen on validation digits: docs/coding.md, *Choosing S*)

Coder = constriction.stream.stack.AnsCoder


def particle_schedule(tiles: int, particles: int, max_batch: int) -> list[tuple[int, int]]:
    """(start, stop) of the batches of coder 5: tile 0 alone, then batches of
    clamp(floor(start / S), 1, max(1, floor(max_batch / S))) tiles, so that a batch's S particles
    never outnumber the tiles already coded (whose bits they pop) nor max_batch rows. S = 1 gives
    tiling.batch_schedule."""
    bounds, start, largest = [], 0, max(1, max_batch // particles)
    while start < tiles:
        stop = min(start + min(max(start // particles, 1), largest), tiles)
        bounds.append((start, stop))
        start = stop
    return bounds


def log2_fixed(k: np.ndarray) -> np.ndarray:
    """log2(k) * 2**16 (its first 16 fraction bits, each found by squaring) for integers 1 <= k < 2**31,
    in int64 integer arithmetic only (the exponent from frexp, exact for integers)."""
    k = np.asarray(k, np.int64)
    exponent = np.frexp(k.astype(np.float64))[1].astype(np.int64) - 1
    m = k << (30 - exponent)                        # k / 2**exponent in [1, 2) at scale 2**30
    result = exponent << COST_BITS
    for bit in reversed(range(COST_BITS)):
        m = (m * m) >> 30
        big = m >= (1 << 31)
        result += big.astype(np.int64) << bit
        m = np.where(big, m >> 1, m)
    return result


def cost_tables(prob_table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cost of a 0, cost of a 1) for every entry k of the probability table: -log2(P) * 2**16 with
    P = (2**24 - k) / 2**24 and k / 2**24, as int64."""
    k = np.asarray(prob_table, np.int64)
    whole = PROB_BITS << COST_BITS
    return whole - log2_fixed((1 << PROB_BITS) - k), whole - log2_fixed(k)


def _integer_root_weight(step: int) -> int:
    """floor(2**24 * 2**(-step / 256)): the largest y with y**256 <= 2**(24 * 256 - step)."""
    target, low, high = 1 << (PROB_BITS * 256 - step), 1, 1 << PROB_BITS
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if mid ** 256 <= target else (low, mid - 1)
    return low


@functools.cache
def weight_table() -> np.ndarray:
    """The 256 integer roots, made on first use (37 ms: not at import, which every command pays)."""
    return np.array([_integer_root_weight(step) for step in range(1 << WEIGHT_STEP_BITS)], np.int64)


class ParticleCodec:
    """push(coder, x, mask, n) / pop(coder, mask, n) of a batch of tiles with n particles (n = 0:
    no bits back, h the mode of q; n = 1: one-sample bits back, as coder 1)."""

    def __init__(self, model: IntegerDARN) -> None:
        self.model = model
        self.bitsback = BitsBackCodec(model)
        self.cost0, self.cost1 = cost_tables(model.prob_table)

    # ----- the importance weights, in integers -------------------------------------------------
    def _cost(self, values: np.ndarray, index: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        cost = np.where(values > 0, self.cost1[index], self.cost0[index])
        return (cost if mask is None else np.where(mask, cost, 0)).sum(1)

    def log_weights(self, index: TileIndices, x: np.ndarray, mask: np.ndarray, hs: list[np.ndarray]) -> np.ndarray:
        """log2 p(x, h) - log2 q(h|x) of every row, an integer at scale 2**16 (exact int64 sums)."""
        total = -self._cost(x, index.visible, mask)
        for h, prior, posterior in zip(hs, index.prior, index.posterior):
            total += self._cost(h, posterior) - self._cost(h, prior)
        return total

    def shared_context(self, x: np.ndarray, particles: int) -> np.ndarray:
        """The encoder's context of h(1) for the particle rows of tiles ``x``: each tile's, repeated
        (it depends on x alone; computed once per tile)."""
        return np.tile(self.model.encoder_context(0, x), (particles, 1))

    def weights(self, x: np.ndarray, mask: np.ndarray, hs: list[np.ndarray], particles: int,
                context: np.ndarray) -> tuple[np.ndarray, TileIndices]:
        """The integer weights (tiles, n) of particle rows i * tiles + t, and the rows' table indices:
        W = max(1, weight_table()[d mod 256] >> floor(d / 256)), d = (the tile's largest log-weight less
        the particle's) / 2**8."""
        index = tile_indices(self.model, x, hs, context)
        log_w = self.log_weights(index, x, mask, hs).reshape(particles, -1).T
        d = (log_w.max(axis=1, keepdims=True) - log_w) >> (COST_BITS - WEIGHT_STEP_BITS)
        shift = np.minimum(d >> WEIGHT_STEP_BITS, 62)
        return np.maximum(weight_table()[d & ((1 << WEIGHT_STEP_BITS) - 1)] >> shift, 1), index

    # ----- a batch -----------------------------------------------------------------------------
    def push(self, coder: Coder, x: np.ndarray, mask: np.ndarray, particles: int) -> np.ndarray:
        """Code a batch of tiles with ``particles`` particles; returns each tile's net cost in bits."""
        if particles <= 1:
            return self.bitsback.push(coder, x, mask, bits_back=particles == 1)
        tiles, table = len(x), self.model.table
        rows_x, rows_mask = np.tile(x, (particles, 1)), np.tile(mask, (particles, 1))
        context = self.shared_context(x, particles)
        hs = self.bitsback.draw_posterior(rows_x, lambda: popper(coder), context)
        w, index = self.weights(rows_x, rows_mask, hs, particles, context)
        j, gained = pop_index(coder, w)
        chosen, others = particle_rows(j, particles)
        for h, post in reversed(list(zip(hs, index.posterior))):
            push(coder, h[others], table[post[others]])
        push(coder, x, table[index.visible[chosen]], mask)
        cost = information_bits(x, table[index.visible[chosen]], mask) - gained
        for h, prior, post in zip(hs, index.prior, index.posterior):
            push(coder, h[chosen], table[prior[chosen]])
            cost += information_bits(h[chosen], table[prior[chosen]]) - information_bits(h[chosen], table[post[chosen]])
        return cost + push_index(coder, np.ones((tiles, particles), np.int64), j)

    def pop(self, coder: Coder, mask: np.ndarray, particles: int) -> np.ndarray:
        """Decode a batch of tiles coded with ``particles`` particles (the exact inverse of push)."""
        if particles <= 1:
            return self.bitsback.pop(coder, mask, bits_back=particles == 1)[0]
        m, tiles = self.model, len(mask)
        j = pop_index(coder, np.ones((tiles, particles), np.int64))[0]
        chosen_hs = self.bitsback.pop_prior(coder, tiles)
        x = m.decode_visible(m.visible_context(chosen_hs), popper(coder, mask))
        context = self.shared_context(x, particles)
        other_hs = self.bitsback.draw_posterior(np.tile(x, (particles - 1, 1)), lambda: popper(coder),
                                                context[tiles:])
        chosen, others = particle_rows(j, particles)
        hs = []
        for h_chosen, h_others in zip(chosen_hs, other_hs):
            h = np.zeros((particles * tiles, h_chosen.shape[1]))
            h[chosen], h[others] = h_chosen, h_others
            hs.append(h)
        rows_x = np.tile(x, (particles, 1))
        w, index = self.weights(rows_x, np.tile(mask, (particles, 1)), hs, particles, context)
        push_index(coder, w, j)
        for h, post in reversed(list(zip(hs, index.posterior))):
            push(coder, h, m.table[post])
        return x

    def particles_for(self, coder: Coder, x: np.ndarray, most: int) -> int:
        """The encoder's particle count for a batch: as many as the coder holds PARTICLE_MARGIN times
        the bits for (the expected bits of one pop of h: coding.bitsback), at most ``most``."""
        expected = self.bitsback.bits_back_expected(x)
        return most if expected <= 0 else min(most, int(coder.num_bits() // (PARTICLE_MARGIN * expected)))


def particle_rows(j: np.ndarray, particles: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (particle i of tile t is row i * tiles + t) of the chosen particle of every tile, and of
    the others: (particles - 1) * tiles rows, the r-th other of tile t (r = 0, 1, ..., the particles
    other than j in increasing order) at position r * tiles + t."""
    tiles = len(j)
    t = np.arange(tiles)
    r = np.arange(particles - 1)[:, None]
    return j * tiles + t, ((r + (r >= j[None, :])) * tiles + t[None, :]).ravel()


# ----- an index under integer weights: a path of Bernoulli splits ---------------------------------
def _walk(weights: np.ndarray, choose) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """Walk every tile's range [0, n) down to one index: at each level, where a range [lo, hi) holds
    more than one index, split it at mid = floor((lo + hi) / 2) and take the upper half with
    P(1) = k / 2**24, k = clamp(floor(W[mid:hi] * 2**24 / W[lo:hi]), 1, 2**24 - 1) (W summed over the
    range, exact int64). ``choose(k, live, mid)`` gives the bits of the live tiles. Returns the indices
    and every level's (live tiles, bits, k)."""
    tiles, n = weights.shape
    cumulative = np.zeros((tiles, n + 1), np.int64)
    np.cumsum(weights, axis=1, out=cumulative[:, 1:])
    lo, hi, rows, levels = np.zeros(tiles, np.int64), np.full(tiles, n, np.int64), np.arange(tiles), []
    while True:
        live = hi - lo > 1
        if not live.any():
            return lo, levels
        l, h, r = lo[live], hi[live], rows[live]
        mid = (l + h) // 2
        upper = cumulative[r, h] - cumulative[r, mid]
        k = np.clip(upper * (1 << PROB_BITS) // (cumulative[r, h] - cumulative[r, l]), 1, (1 << PROB_BITS) - 1)
        bits = np.asarray(choose(k, live, mid), np.int64)
        lo[live], hi[live] = np.where(bits > 0, mid, l), np.where(bits > 0, h, mid)
        levels.append((live, bits, k))


def _level_bits(levels, tiles: int) -> np.ndarray:
    cost = np.zeros(tiles)
    for live, bits, k in levels:
        cost[live] -= np.log2(np.where(bits > 0, k, (1 << PROB_BITS) - k) / (1 << PROB_BITS))
    return cost


def pop_index(coder: Coder, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pop one index per tile under ``weights`` (tiles, n), one decode call per level; returns the
    indices and the bits each pop took."""
    j, levels = _walk(weights, lambda k, live, mid: coder.decode(BERNOULLI, k * (1.0 / (1 << PROB_BITS))))
    return j, _level_bits(levels, len(weights))


def push_index(coder: Coder, weights: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Push the index ``j`` of every tile under ``weights`` so that pop_index reads it back (level by
    level, tiles in order: one encode_reverse call); returns the bits each push cost."""
    levels = _walk(weights, lambda k, live, mid: j[live] >= mid)[1]
    if levels:
        coder.encode_reverse(np.concatenate([bits for _, bits, _ in levels]).astype(np.int32), BERNOULLI,
                             np.concatenate([k for _, _, k in levels]) * (1.0 / (1 << PROB_BITS)))
    return _level_bits(levels, len(weights))


# ----- the particle counts of the batches ------------------------------------------------------------
def push_counts(coder: Coder, counts: list[int], particles: int) -> None:
    """Push the particle count of every batch but the first (always 0): a symbol 1 with P(1) = 15/16 if
    it is S; else a 0, then the count in 0 .. S-1 under the uniform distribution (index splits)."""
    values, probs = [], []
    for count in counts[1:]:
        values.append(int(count == particles))
        probs.append(FULL_K)
        if count != particles:
            for _, bits, k in _walk(np.ones((1, particles), np.int64), lambda k, live, mid: [count >= mid[0]])[1]:
                values.append(int(bits[0]))
                probs.append(int(k[0]))
    if values:
        coder.encode_reverse(np.asarray(values, np.int32), BERNOULLI,
                             np.asarray(probs, np.float64) * (1.0 / (1 << PROB_BITS)))


def pop_counts(coder: Coder, batches: int, particles: int) -> list[int]:
    counts = [0] * min(batches, 1)
    uniform = np.ones((1, particles), np.int64)
    for _ in range(batches - 1):
        full = coder.decode(BERNOULLI, np.array([FULL_K / (1 << PROB_BITS)]))[0]
        counts.append(particles if full else int(pop_index(coder, uniform)[0][0]))
    return counts


# ----- an archive's tiles ---------------------------------------------------------------------------
def encode_tiles(coder: Coder, model: IntegerDARN, tiles: np.ndarray, masks: np.ndarray, particles: int,
                 max_batch: int) -> np.ndarray:
    """Push every tile with up to ``particles`` particles; returns each tile's net cost in bits."""
    codec, costs, counts = ParticleCodec(model), np.zeros(len(tiles)), []
    for start, stop in particle_schedule(len(tiles), particles, max_batch):
        x, mask = tiles[start:stop], masks[start:stop]
        counts.append(codec.particles_for(coder, x, particles) if start > 0 else 0)
        costs[start:stop] = codec.push(coder, x, mask, counts[-1])
    push_counts(coder, counts, particles)
    return costs


def decode_tiles(coder: Coder, model: IntegerDARN, masks: np.ndarray, particles: int, max_batch: int) -> np.ndarray:
    codec, tiles = ParticleCodec(model), np.zeros(masks.shape, np.int64)
    schedule = particle_schedule(len(masks), particles, max_batch)
    counts = pop_counts(coder, len(schedule), particles)
    for (start, stop), count in reversed(list(zip(schedule, counts))):
        tiles[start:stop] = codec.pop(coder, masks[start:stop], count)
    return tiles
