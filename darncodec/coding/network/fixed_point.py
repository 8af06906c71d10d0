"""Fixed-point conventions of the coding path (docs/coding.md; Balle et al., ICLR 2019).

Every coding probability comes from integers: binary inputs times integer weights give integer
logits at scale 2**LOGIT_SHIFT; a tanh layer's output is an integer level in [-TANH_LEVELS,
TANH_LEVELS] found by comparing its integer pre-activation with stored integer thresholds; a logit
becomes a probability through a stored table of integers k / 2**PROB_BITS. Products are summed in
float64 (exact below 2**53, checked when a model is quantised) or int64, so every order of
summation, thread count, batch size and device gives the same integers, hence the same floats for
the ANS coder. On the coding path these integers are held in float64 arrays (so that products run
on BLAS or a GPU); every value and partial sum is an integer below 2**52, where float64 is exact.
"""

from __future__ import annotations

import numpy as np

from darncodec.extras import require_torch

LOGIT_SHIFT = 18          # logits and pre-activations are integers at scale 2**18
TANH_BITS = 6             # tanh outputs are integer levels at scale 2**6 (-64..64)
TANH_LEVELS = 1 << TANH_BITS
TABLE_STEP_BITS = 7       # the probability table has 2**7 entries per unit of logit
TABLE_LOGIT_RANGE = 16    # logits are clamped to [-16, 16] before the table
PROB_BITS = 24            # table entries are k / 2**24 with 1 <= k < 2**24
EXACT_LIMIT = 2.0 ** 52   # every partial sum stays below this in magnitude

TABLE_HALF = TABLE_LOGIT_RANGE << TABLE_STEP_BITS
GRID_SHIFT = LOGIT_SHIFT - TABLE_STEP_BITS


def quantize_weight(weight: np.ndarray, shift: int) -> np.ndarray:
    return np.ascontiguousarray(np.rint(np.asarray(weight, dtype=np.float64) * (1 << shift)), dtype=np.int64)


def probability_table() -> np.ndarray:
    """k of P(bit = 1) = k / 2**PROB_BITS at logits -16, -16 + 1/128, ..., 16 (int64)."""
    logits = np.arange(-TABLE_HALF, TABLE_HALF + 1, dtype=np.float64) / (1 << TABLE_STEP_BITS)
    k = np.rint((1 << PROB_BITS) / (1 + np.exp(-logits)))
    return np.clip(k, 1, (1 << PROB_BITS) - 1).astype(np.int64)


def tanh_thresholds() -> np.ndarray:
    """Integer pre-activations at which round(64 tanh(a / 2**18)) steps up (int64, 128 values)."""
    levels = np.arange(-TANH_LEVELS + 1, TANH_LEVELS + 1, dtype=np.float64)
    edges = np.arctanh((levels - 0.5) / TANH_LEVELS) * (1 << LOGIT_SHIFT)
    return np.ceil(edges).astype(np.int64)


def tanh_level(preactivation: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """The tanh output level of integer pre-activations: how many thresholds they reach, less 64."""
    return np.searchsorted(thresholds, preactivation, side="right") - float(TANH_LEVELS)


def table_index(logits: np.ndarray) -> np.ndarray:
    """Round integer logits (scale 2**18) to the table's grid (scale 2**7), clamp, offset.

    floor((l + 2**10) * 2**-11) is exact in float64 for integers l below 2**52."""
    rounded = np.floor((logits + float(1 << (GRID_SHIFT - 1))) * (1.0 / (1 << GRID_SHIFT)))
    return (np.minimum(np.maximum(rounded, -TABLE_HALF), TABLE_HALF) + TABLE_HALF).astype(np.intp)


class ExactMatmul:
    """Integer matrix products through float64 on a chosen device: exact while |sums| < 2**52."""

    def __init__(self, device: str = "cpu") -> None:
        self.torch = None
        if device != "cpu":  # torch only where it is needed: importing it costs a second per command
            torch = require_torch(f"--device {device}")
            self.torch, self.device = torch, torch.device(device)
            if self.device.type == "cuda":
                torch.backends.cuda.matmul.allow_tf32 = False

    def __call__(self, inputs: np.ndarray, weight_t: np.ndarray) -> np.ndarray:
        """inputs (B, n) @ weight_t (n, m), integer-valued float64 in and out."""
        inputs = np.asarray(inputs, dtype=np.float64)
        if not isinstance(weight_t, np.ndarray):   # a locally connected layer's sparse matrix: on the CPU
            return np.asarray(inputs @ weight_t)
        if self.torch is None:
            return inputs @ weight_t
        torch = self.torch
        return (torch.as_tensor(inputs, device=self.device) @ torch.as_tensor(weight_t, device=self.device)).cpu().numpy()
