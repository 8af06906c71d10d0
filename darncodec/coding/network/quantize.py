"""Float DARN -> the integers the coder computes with (docs/coding.md, "bit-identical probabilities").

Weights that multiply binary values (pixels, stochastic units) become integers at scale 2**18;
weights after a tanh layer, whose outputs are levels at scale 2**6, become integers at scale 2**12,
so every logit is an integer at scale 2**18. Turning a stored float32 weight into its integer is
exact IEEE arithmetic (float32 -> float64, times a power of two, round half to even), so every
machine gets the same integers from the same file. The two things that need transcendental
functions, the probability table and the tanh thresholds, are computed once, here, and stored in
the model file (``coding.*``), so the codec never calls exp or atanh.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from darncodec.coding.network.fixed_point import (
    EXACT_LIMIT,
    LOGIT_SHIFT,
    TANH_BITS,
    TANH_LEVELS,
    probability_table,
    quantize_weight,
    tanh_thresholds,
)
from darncodec.errors import ModelError
from darncodec.model.config import DarnConfig
from darncodec.model.io import CODING_PREFIX, FLOAT_PREFIX, load_tensors, save_model


def _linear(name: str, weight: np.ndarray, bias: np.ndarray, shift: int, input_max: int) -> dict[str, np.ndarray]:
    """Integer weight (transposed) and bias, checked to keep every partial sum exact."""
    weight_t, bias_q = quantize_weight(weight.T, shift), quantize_weight(bias, LOGIT_SHIFT)
    worst = np.abs(weight_t).sum(axis=0).max(initial=0) * input_max + np.abs(bias_q).max(initial=0)
    if worst >= EXACT_LIMIT:
        raise ModelError(f"{name}: weights too large for exact integer coding ({worst:.3g} >= 2**52)")
    return {f"{name}.weight_t": weight_t, f"{name}.bias": bias_q}


def _periodic_local(name: str, weight: np.ndarray, bias: np.ndarray, shift: int, input_max: int) -> dict[str, np.ndarray]:
    """Integer kernels (classes, outputs, taps) and biases (classes, outputs) of a PeriodicLocal
    layer, checked to keep every partial sum exact."""
    weight_q, bias_q = quantize_weight(weight, shift), quantize_weight(bias, LOGIT_SHIFT)
    worst = (np.abs(weight_q).sum(axis=2) * input_max + np.abs(bias_q)).max(initial=0)
    if worst >= EXACT_LIMIT:
        raise ModelError(f"{name}: weights too large for exact integer coding ({worst:.3g} >= 2**52)")
    return {f"{name}.weight": weight_q, f"{name}.bias": bias_q}


def _conditional(prefix: str, w: dict[str, np.ndarray], local: dict) -> dict[str, np.ndarray]:
    """A Conditional's integers; its parts named in ``local`` (config.local_layers) are PeriodicLocal layers."""
    def part(name: str, shift: int, input_max: int) -> dict[str, np.ndarray]:
        name = f"{prefix}.{name}"
        kind = _periodic_local if name in local else _linear
        return kind(name, w[f"{name}.weight"], w[f"{name}.bias"], shift, input_max)

    if f"{prefix}.inner.weight" not in w:
        return part("outer", LOGIT_SHIFT, 1)
    return {**part("inner", LOGIT_SHIFT, 1), **part("outer", LOGIT_SHIFT - TANH_BITS, TANH_LEVELS)}


def _autoregressive(name: str, weight: np.ndarray, triangular: bool) -> np.ndarray:
    """Integer within-layer weights; square ones keep only the strictly lower triangle (Eq. 2)."""
    weight_q = quantize_weight(np.tril(weight, -1) if triangular else weight, LOGIT_SHIFT)
    if np.abs(weight_q).sum(axis=1).max(initial=0) >= EXACT_LIMIT:
        raise ModelError(f"{name}: weights too large for exact integer coding")
    return weight_q


def integer_weights(config: DarnConfig, float_weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Integer weights and biases from a dict of ``float.*`` tensors (names of DARN.state_dict())."""
    w = {k.removeprefix(FLOAT_PREFIX): v for k, v in float_weights.items() if k.startswith(FLOAT_PREFIX)}
    for name, weight in w.items():  # beyond this a weight's integer is not even an int64 (and no sum is exact)
        if not np.all(np.abs(weight.astype(np.float64)) * (1 << LOGIT_SHIFT) < EXACT_LIMIT):
            raise ModelError(f"{name}: weights too large (or not finite) for exact integer coding")
    out: dict[str, np.ndarray] = {"top_bias": quantize_weight(w["top_bias"], LOGIT_SHIFT)}
    for level in range(len(config.latent)):
        out.update(_conditional(f"decoder.{level}", w, config.local_layers))
        out.update(_conditional(f"encoder.{level}", w, config.local_layers))
        name = f"latent_ar.{level}.weight"
        out[name] = _autoregressive(name, w[name], True)
    if "encoder_ar.weight" in w:
        out["encoder_ar.weight"] = _autoregressive("encoder_ar.weight", w["encoder_ar.weight"], True)
    if "visible_ar.weight" in w:
        out["visible_ar.weight"] = _autoregressive("visible_ar.weight", w["visible_ar.weight"],
                                                   config.visible == "full")
    if "visible_ar.table" in w:
        out["visible_ar.table"] = quantize_weight(w["visible_ar.table"], LOGIT_SHIFT)
        if np.abs(out["visible_ar.table"]).max() + np.abs(out["visible_ar.weight"]).sum(axis=1).max() >= EXACT_LIMIT:
            raise ModelError("visible_ar.table: weights too large for exact integer coding")
    return out


def check_coding_tables(tensors: dict[str, np.ndarray], source: str) -> None:
    """A model file's coding tables are those ``coding_tables`` makes in size and kind: 4097 table
    entries rising within 1 .. 2**24 - 1, 128 rising tanh thresholds, integers; else ModelError."""
    for name, like in coding_tables().items():
        table = tensors.get(name)
        if table is None:
            raise ModelError(f"{source}: has no coding tables (quantise it first)")
        if table.shape != like.shape or table.dtype.kind not in "iu" or np.any(np.diff(table.astype(np.int64)) < 0):
            raise ModelError(f"{source}: damaged coding table {name} (needs {len(like)} rising integers)")
    prob = tensors[CODING_PREFIX + "prob_table"]
    if prob.min() < 1 or prob.max() >= 1 << 24:
        raise ModelError(f"{source}: damaged coding table {CODING_PREFIX}prob_table (values outside 1 .. 2**24 - 1)")


def coding_tables() -> dict[str, np.ndarray]:
    """The stored tables: P(1) per logit step and the tanh level thresholds."""
    return {CODING_PREFIX + "prob_table": probability_table(), CODING_PREFIX + "tanh_thresholds": tanh_thresholds()}


def quantize_and_save(float_path: str | Path, output: str | Path) -> str:
    """Read a model file, check that it codes exactly, add the coding tables, write ``output``;
    returns the content hash."""
    config, tensors = load_tensors(float_path)
    floats = {k: v for k, v in tensors.items() if k.startswith(FLOAT_PREFIX)}
    integer_weights(config, floats)
    return save_model(output, config, {**floats, **coding_tables()})
