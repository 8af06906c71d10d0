"""Bits-back ANS coding of a batch of tiles through one constriction AnsCoder (docs/coding.md).

Compressing a batch x: pop h(1) ~ q(h(1)|x), ..., h(L) ~ q(h(L)|h(L-1)) (taking bits back), push x
under p(x|h), then push h(1), ..., h(L) under the prior; decompressing undoes each step in reverse
order: pop h(L), ..., h(1) under the prior, pop x, push h(L), ..., h(1) under q. The net cost of a
tile is -log p(x|h) - log p(h) + log q(h|x) for the h that was popped: the -ELBO of Eq. 14.

A push of (tiles, units) symbols is one coder call, unit-major, so that popping unit by unit, each
over all tiles of the batch, reads the same symbols back. Pixels outside the image (a tile's padding)
are known to both sides and never coded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import constriction
import numpy as np

from darncodec.coding.ans.streams import popper, push, push_in_order
from darncodec.coding.network.elbo import (
    information_bits,
    posterior_probabilities,
    tile_costs,
    tile_probabilities,
)
from darncodec.coding.network.fixed_point import PROB_BITS
from darncodec.coding.network.integer_model import IntegerDARN


class VisibleStage(Protocol):
    """How a batch's pixels are coded after the DARN (page-adaptive mixing, coding.mixing.tiled and
    coding.mixing.raster): the encoder's k of every pixel (P(1) = k / 2**24) from the DARN's grid
    logits, the live pixels in the order the decoder pops them, and the decoder's pop of the batch."""

    def encode(self, grid_logits: np.ndarray, x: np.ndarray) -> np.ndarray: ...

    def in_coding_order(self, x: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def decode(self, coder: constriction.stream.stack.AnsCoder, network: IntegerDARN,
               context: np.ndarray | None) -> tuple[np.ndarray, constriction.stream.stack.AnsCoder]: ...


@dataclass
class PlannedBatch:
    """A batch ready to push (BitsBackCodec.plan): h already popped where bits back, its tiles'
    net costs known, nothing pushed yet."""

    x: np.ndarray
    mask: np.ndarray
    stage: VisibleStage | None
    visible: np.ndarray                                       # P(1) of each pixel
    costs: np.ndarray                                         # each tile's net bits
    latent: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)   # (h, its prior P(1))


class BitsBackCodec:
    """push(coder, x, mask) / pop(coder, mask) -> x for batches of flattened tiles (0/1 values).

    ``bits_back=False`` codes a batch without popping h: h is the mode of q(h|x) and costs its
    full -log p(h). The codec does this for the very first tile of a file, where the coder is still
    empty and a pop would only return zeros (h = 0, a poor and costly choice) without giving bits back.
    """

    def __init__(self, model: IntegerDARN) -> None:
        self.model = model

    def draw_posterior(self, x: np.ndarray, draw_for, context: np.ndarray | None = None) -> list[np.ndarray]:
        """h(1), ..., h(L) from q(h|x), each unit's value from ``draw_for()`` (a fresh draw per layer:
        popper(coder) pops them, most_likely takes the mode). ``context``: the encoder's context of
        h(1) given x, where the caller has it (coding.particles: the particles of a tile share it)."""
        m, hs, below = self.model, [], x
        for k in range(len(m.config.latent)):
            below = m.decode_autoregressive(m.encoder_context(k, below) if k or context is None else context,
                                            m.encoder_ar if k == 0 else None, draw_for())
            hs.append(below)
        return hs

    def bits_back_expected(self, x: np.ndarray) -> float:
        """About how many bits a pop of h ~ q(h|x) takes from the coder for this batch: the entropy of
        q's conditionals along its mode."""
        hs = self.draw_posterior(x, lambda: most_likely)
        return float(sum(binary_entropy(p).sum() for p in posterior_probabilities(self.model, x, hs)))

    def push(self, coder, x: np.ndarray, mask: np.ndarray, bits_back: bool = True,
             stage: VisibleStage | None = None, latent: bool = True) -> np.ndarray:
        """Code a batch of tiles; returns each tile's net cost in bits (with bits back: its one-sample
        -ELBO; without: -log p(x|h) - log p(h)). ``stage``: page-adaptive mixing of p(x|h).
        ``latent=False`` (with a stage only): no h at all; the stage codes x without the DARN's
        logits (each grid logit 0)."""
        planned = self.plan(coder, x, mask, bits_back, stage, latent)
        self.push_planned(coder, planned)
        return planned.costs

    def plan(self, coder, x: np.ndarray, mask: np.ndarray, bits_back: bool = True,
             stage: VisibleStage | None = None, latent: bool = True) -> PlannedBatch:
        """The first half of push: pop h from ``coder`` (with bits back; else h is q's mode, and
        without ``latent`` there is none) and every probability push_planned will code with."""
        def mixed(grid: np.ndarray) -> np.ndarray:
            return stage.encode(grid, x) * (1.0 / (1 << PROB_BITS))

        if not latent:
            probs = mixed(np.zeros(x.shape, np.int64))
            return PlannedBatch(x, mask, stage, probs, information_bits(x, probs, mask))
        hs = self.draw_posterior(x, (lambda: popper(coder)) if bits_back else (lambda: most_likely))
        probs = tile_probabilities(self.model, x, hs, None if stage is None else mixed)
        return PlannedBatch(x, mask, stage, probs.visible, tile_costs(x, mask, hs, probs, bits_back),
                            list(zip(hs, probs.prior)))

    @staticmethod
    def push_planned(coder, planned: PlannedBatch) -> None:
        """The second half of push: x under p(x|h), then h(1), ..., h(L) under the prior."""
        if planned.stage is None:
            push(coder, planned.x, planned.visible, planned.mask)
        else:
            push_in_order(coder, *planned.stage.in_coding_order(planned.x, planned.visible))
        for h, p in planned.latent:
            push(coder, h, p)

    def pop_prior(self, coder, tiles: int) -> list[np.ndarray]:
        """Pop h(L), ..., h(1) of ``tiles`` tiles under the prior (decoder step 1); returns h(1) .. h(L)."""
        m = self.model
        hs: list[np.ndarray | None] = [None] * len(m.config.latent)
        for k in reversed(range(len(hs))):
            hs[k] = m.decode_autoregressive(m.latent_context(k, hs, tiles), m.latent_ar[k], popper(coder))
        return hs

    def pop(self, coder, mask: np.ndarray, bits_back: bool = True, stage: VisibleStage | None = None,
            latent: bool = True) -> tuple[np.ndarray, constriction.stream.stack.AnsCoder]:
        """Decode a batch of tiles: (x, the coder to go on with)."""
        m, tiles = self.model, len(mask)
        if not latent:
            return stage.decode(coder, m, None)
        hs = self.pop_prior(coder, tiles)
        if stage is None:
            x = m.decode_visible(m.visible_context(hs), popper(coder, mask))
        else:
            x, coder = stage.decode(coder, m, m.visible_context(hs))
        if bits_back:
            for h, p in reversed(list(zip(hs, posterior_probabilities(m, x, hs)))):
                push(coder, h, p)
        return x, coder


def binary_entropy(p: np.ndarray) -> np.ndarray:
    return -(p * np.log2(p) + (1.0 - p) * np.log2(1.0 - p))


def most_likely(unit: int, probs: np.ndarray) -> np.ndarray:
    """A ``draw`` that takes each unit's more probable value (the mode, unit by unit)."""
    return (probs >= 0.5).astype(np.int64)
