"""Evaluating a float DARN as the paper does (section 5): the -ELBO (Eq. 14), the importance-sampled
-log p(x) of Eq. 16 (S samples from the encoder, repeated, with a 95% interval), and the exact
-log p(x) by summing over every h when the model has at most 16 stochastic units. All in nats."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from darncodec.model.darn import DARN, layers_log_prob

MAX_ENUMERATED_UNITS = 16


@dataclass
class Estimate:
    """Nats per example for each repeat of an estimate: shape (repeats, examples)."""

    runs: np.ndarray

    @property
    def per_example(self) -> np.ndarray:
        return self.runs.mean(0)

    @property
    def mean(self) -> float:
        return float(self.runs.mean())

    @property
    def ci95(self) -> float:
        """Half-width of the 95% interval of ``mean`` from the spread of the repeats (0: exact)."""
        repeats = len(self.runs)
        return float(1.96 * self.runs.mean(1).std(ddof=1) / math.sqrt(repeats)) if repeats > 1 else 0.0


def _batches(x: torch.Tensor, mask: torch.Tensor | None, size: int):
    for start in range(0, len(x), size):
        yield x[start:start + size], None if mask is None else mask[start:start + size]


@torch.no_grad()
def negative_elbo(model: DARN, x: torch.Tensor, mask: torch.Tensor | None = None, samples: int = 10,
                  generator: torch.Generator | None = None, batch: int = 1000) -> np.ndarray:
    """Monte Carlo -ELBO per example (mean of ``samples`` draws of h ~ q)."""
    out = []
    for xb, mb in _batches(x, mask, batch):
        out.append(torch.stack([model.cost(xb, generator, mb) for _ in range(samples)]).mean(0))
    return torch.cat(out).double().numpy()


@torch.no_grad()
def importance_sampled_nll(model: DARN, x: torch.Tensor, mask: torch.Tensor | None = None,
                           samples: int = 100, repeats: int = 10, generator: torch.Generator | None = None,
                           rows: int = 20000) -> Estimate:
    """-log (1/S sum_s p(x, h_s) / q(h_s|x)), h_s ~ q(H|x) (Eq. 16), repeated ``repeats`` times.

    Samples are drawn in blocks of about ``rows`` (example, sample) pairs, one model call each."""
    runs = np.zeros((repeats, len(x)))
    per_call = max(1, rows // samples)
    for r in range(repeats):
        for start in range(0, len(x), per_call):
            xb = x[start:start + per_call]
            mb = None if mask is None else mask[start:start + per_call]
            runs[r, start:start + len(xb)] = model.cost(xb, generator, mb, samples).double().numpy()
    return Estimate(runs)


def all_latent_states(model: DARN) -> list[torch.Tensor]:
    """Every joint state of the stochastic units, split into layers (2**units rows)."""
    units = model.config.stochastic_units
    if units > MAX_ENUMERATED_UNITS:
        raise ValueError(f"exact -log p(x) needs at most {MAX_ENUMERATED_UNITS} stochastic units, not {units}")
    codes = torch.arange(2 ** units)
    bits = ((codes[:, None] >> torch.arange(units)) & 1).float()
    return list(torch.split(bits, list(model.config.latent), dim=1))


@torch.no_grad()
def exact_nll(model: DARN, x: torch.Tensor, mask: torch.Tensor | None = None, batch: int = 500,
              chunk: int = 4096) -> Estimate:
    """-log sum_h p(x, h), summing over all 2**units states of h (at most 16 units)."""
    states = all_latent_states(model)
    log_prior = layers_log_prob(model.latent_logits(states), states)
    out = []
    for xb, mb in _batches(x, mask, batch):
        parts = []
        for start in range(0, len(log_prior), chunk):
            hs = [h[start:start + chunk] for h in states]
            parts.append(_log_likelihood_grid(model, xb, mb, hs) + log_prior[start:start + chunk])
        out.append(-torch.logsumexp(torch.cat(parts, 1), 1))
    return Estimate(torch.cat(out).double().numpy()[None])


def _log_likelihood_grid(model: DARN, x: torch.Tensor, mask, hs: list[torch.Tensor]) -> torch.Tensor:
    """log p(x_b | h_c) for every example b and state c: (B, C)."""
    context = model._context(0, hs)                                   # (C, pixels)
    weights = torch.ones_like(x) if mask is None else mask
    if model.visible_ar is None:
        # log sigma(z) x + log sigma(-z) (1 - x) = x z - softplus(z): one product for the whole grid
        return (x * weights) @ context.T - weights @ F.softplus(context).T
    logits = context[None] + model.visible_ar(x)[:, None]              # (B, C, pixels)
    log_probs = -F.binary_cross_entropy_with_logits(logits, x[:, None].expand_as(logits), reduction="none")
    return (log_probs * weights[:, None]).sum(-1)
