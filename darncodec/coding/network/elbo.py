"""The quantised model's -ELBO: the cost the coder pays, from the same integer probabilities.

For tiles x and a draw h of q(h|x): -log2 p(x|h) - log2 p(h) + log2 q(h|x) in bits (Eq. 14),
counting only pixels inside the image (the coder never codes padding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from darncodec.coding.network.fixed_point import TABLE_HALF, table_index
from darncodec.coding.network.integer_model import IntegerDARN


@dataclass
class TileProbabilities:
    """P(1) of every coded unit of a batch of tiles, given x and h (all layers at once)."""

    posterior: list[np.ndarray]   # q(h(k) | h(k-1)), h(0) = x
    visible: np.ndarray           # p(x | h)
    prior: list[np.ndarray]       # p(h(k) | layers above)


@dataclass
class TileIndices:
    """The probability table's index (0 .. 4096) of every coded unit of a batch of tiles, given x
    and h: P(1) = prob_table[index] / 2**24 (TileProbabilities, and the integer costs of
    coding.particles)."""

    posterior: list[np.ndarray]   # q(h(k) | h(k-1)), h(0) = x
    visible: np.ndarray           # p(x | h)
    prior: list[np.ndarray]       # p(h(k) | layers above)


def posterior_indices(net: IntegerDARN, x: np.ndarray, hs: list[np.ndarray],
                      context: np.ndarray | None = None) -> list[np.ndarray]:
    """``context``: the encoder's context of h(1) given x, where the caller has it."""
    below = [x] + hs[:-1]
    return [table_index(net.autoregressive_logits(net.encoder_context(k, below[k]) if k or context is None else context,
                                                  net.encoder_ar if k == 0 else None, h))
            for k, h in enumerate(hs)]


def posterior_probabilities(net: IntegerDARN, x: np.ndarray, hs: list[np.ndarray]) -> list[np.ndarray]:
    return [net.table[i] for i in posterior_indices(net, x, hs)]


def tile_indices(net: IntegerDARN, x: np.ndarray, hs: list[np.ndarray],
                 context: np.ndarray | None = None) -> TileIndices:
    visible = table_index(net.visible_logits(net.visible_context(hs), x))
    prior = [table_index(net.autoregressive_logits(net.latent_context(k, hs, len(x)), net.latent_ar[k], h))
             for k, h in enumerate(hs)]
    return TileIndices(posterior_indices(net, x, hs, context), visible, prior)


def tile_probabilities(net: IntegerDARN, x: np.ndarray, hs: list[np.ndarray],
                       visible_stage: Callable[[np.ndarray], np.ndarray] | None = None) -> TileProbabilities:
    """``visible_stage`` turns the DARN's grid logits of p(x|h) into the probabilities that are coded
    (page-adaptive mixing, coding.mixing.tiled); by default the probability table's."""
    index = tile_indices(net, x, hs)
    visible = net.table[index.visible] if visible_stage is None else visible_stage(index.visible - TABLE_HALF)
    return TileProbabilities([net.table[i] for i in index.posterior], visible, [net.table[i] for i in index.prior])


def information_bits(values: np.ndarray, probs: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """-log2 P(values) summed over units, per tile."""
    cost = -np.log2(np.where(values > 0, probs, 1.0 - probs))
    return (cost if mask is None else cost * mask).sum(1)


def tile_costs(x: np.ndarray, mask: np.ndarray, hs: list[np.ndarray], probs: TileProbabilities,
               bits_back: bool = True) -> np.ndarray:
    """Net bits of each tile: -log p(x|h) - log p(h), plus log q(h|x) when h was popped (bits back)."""
    cost = information_bits(x, probs.visible, mask)
    for h, p_prior, p_post in zip(hs, probs.prior, probs.posterior):
        cost += information_bits(h, p_prior) - (information_bits(h, p_post) if bits_back else 0.0)
    return cost


def sample_posterior(net: IntegerDARN, x: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    def draw(unit: int, probs: np.ndarray) -> np.ndarray:
        return (rng.random(len(probs)) < probs).astype(np.int64)

    hs, below = [], x
    for k in range(len(net.config.latent)):
        below = net.decode_autoregressive(net.encoder_context(k, below), net.encoder_ar if k == 0 else None, draw)
        hs.append(below)
    return hs


def negative_elbo_bits(net: IntegerDARN, x: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
                       samples: int = 1) -> np.ndarray:
    """Mean over ``samples`` draws h ~ q of each tile's one-sample -ELBO, in bits."""
    total = np.zeros(len(x))
    for _ in range(samples):
        hs = sample_posterior(net, x, rng)
        total += tile_costs(x, mask, hs, tile_probabilities(net, x, hs))
    return total / samples
