"""The Deep AutoRegressive Network of Gregor et al. (ICML 2014) in floating point, for training.

Decoder p(X, H) = p(H(L)) prod_k p(H(k) | H(k+1..)) p(X | H(1..)), each factor a product of
Bernoulli conditionals that is autoregressive within its layer (Eq. 2, 7-8); encoder q(H|X) one
layer at a time (Eq. 3-6). The cost of an example is L(x) = E_q[log q(h|x) - log p(x, h)] (Eq. 14),
the -ELBO, whose Monte Carlo estimate with h ~ q is what training minimises (section 4); or, with S
samples, the importance-weighted bound that Monte Carlo bits-back coding pays.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from darncodec.model.config import DarnConfig
from darncodec.model.estimator import sample_binary
from darncodec.model.layers import AutoregressiveLinear, Conditional, LocalAutoregressive, PeriodicLocal

Layers = list[torch.Tensor]


def bernoulli_log_prob(logits: torch.Tensor, values: torch.Tensor,
                       mask: torch.Tensor | None = None) -> torch.Tensor:
    """sum over the last axis of log Bernoulli(values | sigmoid(logits)), in nats; only where
    ``mask`` is set (padding outside an image is known to both sides and costs nothing)."""
    log_probs = -F.binary_cross_entropy_with_logits(logits, values, reduction="none")
    return (log_probs if mask is None else log_probs * mask).sum(-1)


def layers_log_prob(logits: Layers, values: Layers, start: torch.Tensor | float = 0.0) -> torch.Tensor:
    """``start`` plus the sum over stochastic layers of log Bernoulli(values | sigmoid(logits)), in nats."""
    total = start
    for layer_logits, layer_values in zip(logits, values):
        total = total + bernoulli_log_prob(layer_logits, layer_values)
    return total


def _conditional(config: DarnConfig, n_in: int, n_out: int, prefix: str) -> Conditional:
    """The map from one layer to the logits of the next; next to the pixels, with config.local_hidden,
    through a grid of tanh units locally connected to them (config.local_layers)."""
    local = {name.removeprefix(prefix + "."): PeriodicLocal(*spec, config.local_hidden[3])
             for name, spec in config.local_layers.items() if name.startswith(prefix + ".")}
    if not local:
        return Conditional(n_in, n_out, config.hidden)
    return Conditional(n_in, n_out, config.grid_units, **local)


class DARN(nn.Module):
    """A DARN over flattened tiles x of shape (batch, height*width) with values 0/1 (1 = ink)."""

    def __init__(self, config: DarnConfig) -> None:
        super().__init__()
        self.config = config
        latent = config.latent
        # decoder[i] gives the logits of the layer below stochastic layer i (i = 0: the pixels)
        outputs = (config.pixels,) + latent[:-1]
        inputs = [sum(latent[i:]) if config.skip else latent[i] for i in range(len(latent))]
        self.decoder = nn.ModuleList(
            _conditional(config, n_in, n_out, f"decoder.{i}") for i, (n_in, n_out) in enumerate(zip(inputs, outputs))
        )
        self.top_bias = nn.Parameter(torch.zeros(latent[-1]))
        self.latent_ar = nn.ModuleList(AutoregressiveLinear(n) for n in latent)
        self.visible_ar: nn.Module | None = {
            "factorised": lambda: None,
            "full": lambda: AutoregressiveLinear(config.pixels),
            "local": lambda: LocalAutoregressive(config.height, config.width, config.radius, config.shared,
                                                config.table, config.period),
        }[config.visible]()
        below = (config.pixels,) + latent[:-1]
        self.encoder = nn.ModuleList(
            _conditional(config, n_in, n_out, f"encoder.{i}") for i, (n_in, n_out) in enumerate(zip(below, latent))
        )
        self.encoder_ar = AutoregressiveLinear(latent[0]) if config.encoder_autoregressive else None

    # ----- decoder p(x, h) ---------------------------------------------------------------------
    def _context(self, i: int, hs: Layers) -> torch.Tensor:
        above = torch.cat(hs[i:], dim=-1) if self.config.skip else hs[i]
        return self.decoder[i](above)

    def latent_logits(self, hs: Layers) -> Layers:
        """Logits of p(h(k) | layers above), all units at once (teacher forcing on ``hs``)."""
        logits = []
        for k, h in enumerate(hs):
            context = self._context(k + 1, hs) if k + 1 < len(hs) else self.top_bias
            logits.append(context + self.latent_ar[k](h))
        return logits

    def visible_logits(self, x: torch.Tensor, hs: Layers) -> torch.Tensor:
        """Logits of p(x|h). ``hs`` may hold several draws per example (rows sample-major, as from
        ``posterior(x, samples=S)``): the autoregressive part depends on x alone and is computed once."""
        logits = self._context(0, hs)
        if self.visible_ar is not None:
            logits = logits + self.visible_ar(x).repeat(len(logits) // len(x), 1)
        return logits

    def log_joint(self, x: torch.Tensor, hs: Layers, mask: torch.Tensor | None = None) -> torch.Tensor:
        """log p(x, h) per row of ``hs``, in nats (pixels outside ``mask`` not counted); ``hs`` may
        hold several draws per example (rows sample-major), ``mask`` is per example."""
        samples = len(hs[0]) // len(x)
        if samples > 1:
            mask = None if mask is None else mask.repeat(samples, 1)
        visible = bernoulli_log_prob(self.visible_logits(x, hs), x.repeat(samples, 1), mask)
        return layers_log_prob(self.latent_logits(hs), hs, visible)

    # ----- encoder q(h | x) --------------------------------------------------------------------
    def encoder_logits(self, x: torch.Tensor, hs: Layers) -> Layers:
        """Logits of q(h(k) | h(k-1)) with h(0) = x, teacher-forced on ``hs``."""
        below = [x] + hs[:-1]
        logits = [enc(b) for enc, b in zip(self.encoder, below)]
        if self.encoder_ar is not None:
            logits[0] = logits[0] + self.encoder_ar(hs[0])
        return logits

    def log_q(self, x: torch.Tensor, hs: Layers) -> torch.Tensor:
        return layers_log_prob(self.encoder_logits(x, hs), hs, x.new_zeros(x.shape[0]))

    def posterior(self, x: torch.Tensor, generator: torch.Generator | None = None,
                  samples: int = 1) -> tuple[Layers, Layers]:
        """h ~ q(h|x), differentiable through the Appendix A estimator, with the logits of q for the
        drawn h. ``samples`` > 1 draws that many h per example (rows sample-major, like
        ``x.repeat(samples, 1)``) from one pass of the first encoder layer."""
        hs: Layers = []
        logits_per_layer: Layers = []
        below = x
        for k, enc in enumerate(self.encoder):
            logits = enc(below)
            if k == 0 and samples > 1:
                logits = logits.repeat(samples, 1)
            if k == 0 and self.encoder_ar is not None:
                h, logits = self._sample_autoregressive(logits, self.encoder_ar, generator)
            else:
                h = sample_binary(torch.sigmoid(logits), generator)
            hs.append(h)
            logits_per_layer.append(logits)
            below = h
        return hs, logits_per_layer

    def _sample_autoregressive(self, context: torch.Tensor, ar: AutoregressiveLinear,
                               generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        weight = ar.masked_weight()
        units: list[torch.Tensor] = []
        logits: list[torch.Tensor] = []
        for j in range(context.shape[-1]):
            logit = context[:, j]
            if units:
                logit = logit + torch.stack(units, -1) @ weight[j, :j]
            logits.append(logit)
            units.append(sample_binary(torch.sigmoid(logit), generator))
        return torch.stack(units, -1), torch.stack(logits, -1)

    # ----- the MDL cost (Eq. 14) ---------------------------------------------------------------
    def log_weights(self, x: torch.Tensor, generator: torch.Generator | None = None,
                    mask: torch.Tensor | None = None, samples: int = 1) -> torch.Tensor:
        """log p(x, h) - log q(h|x) for ``samples`` draws h ~ q per example (rows sample-major): the
        terms of Eq. 16's importance-sampled likelihood, and minus the one-sample -ELBO."""
        hs, logits = self.posterior(x, generator, samples)
        return self.log_joint(x, hs, mask) - layers_log_prob(logits, hs)

    def cost(self, x: torch.Tensor, generator: torch.Generator | None = None,
             mask: torch.Tensor | None = None, samples: int = 1) -> torch.Tensor:
        """Minus the ``samples``-sample importance-weighted bound per example, in nats:
        -log((1/S) sum_s p(x, h_s)/q(h_s|x)), h_s ~ q (Eq. 16 with S samples; Burda et al.'s IWAE
        bound). S = 1 is the one-sample Monte Carlo -ELBO, log q(h|x) - log p(x, h); with S
        particles, bits-back coding pays this bound (darncodec.coding.particles), so training on it
        trains for the file."""
        if samples == 1:
            return -self.log_weights(x, generator, mask)
        hs, logits = self.posterior(x, generator, samples)
        # q's own parameters reach the weights only through the drawn h (Appendix A's estimator): a
        # direct path through log q would push q down where the normalised weights are high, the
        # opposite of what tightens the bound (its score-function counterpart is not estimated)
        weights = self.log_joint(x, hs, mask) - layers_log_prob([layer.detach() for layer in logits], hs)
        return math.log(samples) - torch.logsumexp(weights.view(samples, len(x)), 0)

    def sparsity_penalty(self, x: torch.Tensor) -> torch.Tensor:
        """fDARN's training term (config.sparsity = rho): sum over the first layer's units of
        KL(rho || mean activity of the unit under q over the batch), in nats; 0 without a target.
        It shapes the code, it is not part of the description length."""
        rho = self.config.sparsity
        if not rho:
            return x.new_zeros(())
        activity = torch.sigmoid(self.encoder[0](x)).mean(0).clamp(1e-6, 1 - 1e-6)
        return (rho * torch.log(rho / activity) + (1 - rho) * torch.log((1 - rho) / (1 - activity))).sum()

    # ----- ancestral sampling (section 2.3) ----------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, progress: bool = False,
               sparse: bool | None = None) -> torch.Tensor:
        """Draw n tiles at once: top layer first, one unit at a time within each autoregressive
        layer, each unit's logit from the units before it alone (so a step costs little more for
        64 tiles than for 4). ``progress`` shows a bar over the units on stderr. ``sparse`` (by
        default where config.samples_sparsely) draws as fDARN does (sample_sparse): the same
        distribution, the same draws up to rounding."""
        if sparse if sparse is not None else self.config.samples_sparsely:
            return torch.bernoulli(torch.sigmoid(self.sample_sparse(n, generator)[2]), generator=generator)
        latent = self.config.latent
        device = self.top_bias.device
        hs: Layers = [torch.zeros(n, size, device=device) for size in latent]
        sequential = sum(latent) + (self.config.pixels if self.visible_ar is not None else 0)
        with tqdm(total=sequential, disable=not progress, unit="unit", desc="sampling", leave=False) as bar:
            for k in reversed(range(len(latent))):
                context = self._context(k + 1, hs) if k + 1 < len(latent) else self.top_bias.expand(n, -1)
                hs[k] = self._draw_autoregressive(context, self.latent_ar[k], generator, bar)
            context = self._context(0, hs)
            if self.visible_ar is None:
                return torch.bernoulli(torch.sigmoid(context), generator=generator)
            return self._draw_autoregressive(context, self.visible_ar, generator, bar)

    @torch.no_grad()
    def sample_sparse(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        """fDARN's ancestral sampling (section 2.3) of a one-layer DARN with a linear decoder and a
        factorised visible layer: every unit's logit starts at its bias, and a unit drawn active adds
        its column of the autoregressive weights to the logits of the units after it and its column
        of the decoder to the pixels' logits; inactive units cost nothing, so a tile costs
        O(active units x (units + pixels)) additions. Returns h, the logits of h, the logits of x
        (draw x from the last), and the additions made per tile."""
        if not self.config.samples_sparsely:
            raise ValueError("sparse sampling needs one stochastic layer, a linear decoder and a factorised visible layer")
        units = self.config.latent[0]
        prior = self.latent_ar[0].weight.T.contiguous()           # row j: unit j's weights to every unit
        decoder = self.decoder[0].outer.weight.T.contiguous()    # row j: unit j's weights to every pixel
        h = self.top_bias.new_zeros(n, units)
        logits = self.top_bias.expand(n, -1).clone()
        visible = self.decoder[0].outer.bias.expand(n, -1).clone()
        for j in range(units):
            h[:, j] = torch.bernoulli(torch.sigmoid(logits[:, j]), generator=generator)
            active = h[:, j].nonzero().squeeze(1)
            if len(active):
                logits[active, j + 1:] += prior[j, j + 1:]
                visible[active] += decoder[j]
        additions = h.sum(1) * (units + self.config.pixels)
        return h, logits, visible, additions

    @staticmethod
    def _draw_autoregressive(context: torch.Tensor, ar: AutoregressiveLinear | LocalAutoregressive,
                             generator: torch.Generator | None, bar: tqdm) -> torch.Tensor:
        values = torch.zeros_like(context)
        for j in range(context.shape[-1]):
            logit = context[:, j] + ar.unit_logit(values, j)
            values[:, j] = torch.bernoulli(torch.sigmoid(logit), generator=generator)
            bar.update()
        return values
