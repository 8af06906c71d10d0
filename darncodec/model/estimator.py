"""Sampling binary units with the gradient estimator of the paper's Appendix A (Eq. 24)."""

from __future__ import annotations

import torch


class _BinarySample(torch.autograd.Function):
    """h = [u < q]; backward: dL/dq = (dL/dh) / (2 q(h)), q(h) the probability of the sampled value.

    This is the first-order Taylor baseline of Eq. 21 taken at h' = 1/2 (Eq. 23-24): unbiased when
    the cost is at most quadratic in h_i, and slightly biased otherwise.
    """

    @staticmethod
    def forward(ctx, q: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        h = (u < q).to(q.dtype)
        ctx.save_for_backward(q, h)
        return h

    @staticmethod
    def backward(ctx, grad_h: torch.Tensor):
        q, h = ctx.saved_tensors
        q_of_h = torch.where(h > 0, q, 1 - q).clamp_min(1e-6)
        return grad_h / (2 * q_of_h), None


def sample_binary(q: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw h ~ Bernoulli(q) so that gradients reach q through the Appendix A estimator."""
    u = torch.rand(q.shape, generator=generator, device=q.device, dtype=q.dtype)
    return _BinarySample.apply(q, u)
