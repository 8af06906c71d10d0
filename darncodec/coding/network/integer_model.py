"""The quantised DARN that the codec runs: integer weights, integer logits, table probabilities.

Two ways through each autoregressive layer give the same integers: ``*_logits`` computes a whole
layer at once from known values (what the encoder does, one product with the strictly
lower-triangular matrix of Eq. 2), ``decode_*`` walks the units one at a time for a batch of tiles
and asks ``draw(unit, probabilities)`` for each unit's values (what the decoder does). Built from a
model file's float32 weights by exact rounding (darncodec.coding.network.quantize) and its stored tables.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numba
import numpy as np

from darncodec.coding.jit import loop
from darncodec.coding.network.fixed_point import (
    GRID_SHIFT,
    PROB_BITS,
    TABLE_HALF,
    ExactMatmul,
    table_index,
    tanh_level,
)
from darncodec.coding.network.quantize import integer_weights
from darncodec.model.config import DarnConfig
from darncodec.model.neighbourhood import neighbour_index, periodic_rows, table_columns, window_taps

Draw = Callable[[int, np.ndarray], np.ndarray]   # (unit, P(1) per tile) -> values 0/1 per tile
BLOCK = 32                                        # units decoded between two block products


class PixelMixer(Protocol):
    """What decode_visible asks of coder 2's mixer (coding.mixing.tiled.BatchMixer): each position's
    k from the DARN's grid logits and the pixels so far, then an update with the decoded pixels."""

    def predict(self, p: int, grid_logit: np.ndarray, values: np.ndarray) -> np.ndarray: ...

    def update(self, p: int, bits: np.ndarray) -> None: ...


@dataclass
class IntegerConditional:
    """Integer version of darncodec.model.layers.Conditional (tanh through thresholds)."""

    outer_weight_t: np.ndarray
    outer_bias: np.ndarray
    inner_weight_t: np.ndarray | None = None
    inner_bias: np.ndarray | None = None

    def __call__(self, inputs: np.ndarray, matmul: ExactMatmul, thresholds: np.ndarray) -> np.ndarray:
        if self.inner_weight_t is not None:
            inputs = tanh_level(matmul(inputs, self.inner_weight_t) + self.inner_bias, thresholds)
        return matmul(inputs, self.outer_weight_t) + self.outer_bias


def local_product(weight: np.ndarray, bias: np.ndarray, inputs: tuple[int, int, int], outputs: tuple[int, int, int],
                  kernel: int, period: int):
    """A PeriodicLocal layer's integer kernels as the sparse (inputs, outputs) matrix of its product
    (scipy.sparse CSR, exact: its sums are of integers below 2**52) and its bias per output."""
    from scipy import sparse   # only a model with locally connected layers needs it

    taps = window_taps(inputs, outputs[:2], kernel)
    classes = periodic_rows(*outputs[:2], period)
    positions, channels = taps.shape[0], outputs[2]
    rows = np.broadcast_to(taps[:, None, :], (positions, channels, taps.shape[1]))
    columns = np.broadcast_to(np.arange(positions * channels).reshape(positions, channels, 1), rows.shape)
    inside = rows < inputs[0] * inputs[1] * inputs[2]
    matrix = sparse.csr_matrix((weight[classes][inside], (rows[inside], columns[inside])),
                               shape=(inputs[0] * inputs[1] * inputs[2], positions * channels))
    return matrix, bias[classes].reshape(-1)


class IntegerDARN:
    """Coding probabilities of a quantised DARN. Arrays are (tiles, units); values and logits are
    integers held in float64."""

    def __init__(self, config: DarnConfig, tensors: dict[str, np.ndarray], device: str = "cpu") -> None:
        self.config = config
        t = {k: v.astype(np.float64) for k, v in integer_weights(config, tensors).items()}
        self.prob_table = tensors["coding.prob_table"].astype(np.int64)              # k of P(1) = k / 2**24
        self.table = self.prob_table.astype(np.float64) / (1 << PROB_BITS)            # exact
        self.thresholds = tensors["coding.tanh_thresholds"].astype(np.float64)
        self.matmul = ExactMatmul(device)
        levels = len(config.latent)

        def part(name: str) -> tuple:
            """A layer's integer (weight_t, bias), a locally connected one's as a sparse matrix; (None, None)
            where the Conditional has no such layer."""
            if name in config.local_layers:
                return local_product(t[f"{name}.weight"], t[f"{name}.bias"], *config.local_layers[name],
                                     config.local_hidden[3])
            return t.get(f"{name}.weight_t"), t.get(f"{name}.bias")

        def conditional(prefix: str) -> IntegerConditional:
            return IntegerConditional(*part(f"{prefix}.outer"), *part(f"{prefix}.inner"))

        self.decoder = [conditional(f"decoder.{i}") for i in range(levels)]
        self.encoder = [conditional(f"encoder.{i}") for i in range(levels)]
        self.top_bias = t["top_bias"]
        self.latent_ar = [t[f"latent_ar.{k}.weight"] for k in range(levels)]
        self.encoder_ar = t.get("encoder_ar.weight")
        self.visible_weight = t.get("visible_ar.weight")
        if config.visible == "local":
            self.neighbours = neighbour_index(config.height, config.width, config.radius)
            if config.shared:   # one kernel, seen by every position (a view: it stays in the cache)
                self.visible_weight = np.broadcast_to(self.visible_weight, self.neighbours.shape)
            elif config.period:  # a kernel per position, gathered exactly from the periodic ones
                self.visible_weight = np.ascontiguousarray(
                    self.visible_weight[periodic_rows(config.height, config.width, config.period)])
        self.context_table = t.get("visible_ar.table")
        self.table_columns = table_columns(config.radius, config.table)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """P(1) for integer logits, as float64 values k / 2**24 (identical on every machine)."""
        return self.table[table_index(logits)]

    def grid_logits(self, logits: np.ndarray) -> np.ndarray:
        """Integer logits rounded to the probability table's grid (units of 1/128), as int64."""
        return table_index(logits) - TABLE_HALF

    def grid_probabilities(self, grid: np.ndarray) -> np.ndarray:
        return self.table[grid + TABLE_HALF]

    # ----- contexts from the layers above ------------------------------------------------------
    def _context(self, i: int, hs: list[np.ndarray]) -> np.ndarray:
        above = np.concatenate(hs[i:], axis=1) if self.config.skip else hs[i]
        return self.decoder[i](above, self.matmul, self.thresholds)

    def latent_context(self, k: int, hs: list[np.ndarray | None], tiles: int) -> np.ndarray:
        if k + 1 == len(self.config.latent):
            return np.broadcast_to(self.top_bias, (tiles, len(self.top_bias)))
        return self._context(k + 1, hs)

    def visible_context(self, hs: list[np.ndarray]) -> np.ndarray:
        return self._context(0, hs)

    def encoder_context(self, k: int, below: np.ndarray) -> np.ndarray:
        return self.encoder[k](below, self.matmul, self.thresholds)

    # ----- a whole layer at once ---------------------------------------------------------------
    def autoregressive_logits(self, context: np.ndarray, weight: np.ndarray | None,
                              values: np.ndarray) -> np.ndarray:
        return context if weight is None else context + self.matmul(values, weight.T)

    def visible_logits(self, context: np.ndarray, x: np.ndarray) -> np.ndarray:
        if self.config.visible == "factorised":
            return context
        if self.config.visible == "full":
            return self.autoregressive_logits(context, self.visible_weight, x)
        tiles, pixels = x.shape
        values = np.zeros((tiles, pixels + 1))                     # a last column of white
        values[:, :pixels] = x
        logits = np.zeros((tiles, pixels))
        _local_logits(values, self.neighbours, self.visible_weight, np.ascontiguousarray(context, dtype=np.float64),
                      self.table_columns, self.local_table(), self.config.width, self.config.radius, logits)
        return logits

    def local_table(self) -> np.ndarray:
        return self.context_table if self.context_table is not None else np.zeros(1)

    # ----- one unit at a time ------------------------------------------------------------------
    def decode_autoregressive(self, context: np.ndarray, weight: np.ndarray | None, draw: Draw) -> np.ndarray:
        """Units in order; the strictly lower-triangular product is applied block by block
        (one matrix product per BLOCK units, small products inside a block)."""
        tiles, units = context.shape
        values = np.zeros((tiles, units))
        if weight is None:
            return np.stack([draw(j, self.probabilities(context[:, j])) for j in range(units)], 1) \
                if units else values
        logits = context.copy()
        for start in range(0, units, BLOCK):
            stop = min(start + BLOCK, units)
            for j in range(start, stop):
                logit = logits[:, j] + values[:, start:j] @ weight[j, start:j]
                values[:, j] = draw(j, self.probabilities(logit))
            if stop < units:
                logits[:, stop:] += self.matmul(values[:, start:stop], weight[stop:, start:stop].T)
        return values

    def decode_visible(self, context: np.ndarray, draw: Draw, mixer: PixelMixer | None = None) -> np.ndarray:
        """The pixels of a batch of tiles, one position at a time; with ``mixer`` (local visible
        layers only), P(1) comes from page-adaptive mixing of the DARN's logits (coding.mixing.tiled)."""
        if self.config.visible != "local":
            return self.decode_autoregressive(context, self.visible_weight, draw)
        tiles, pixels = context.shape
        padded = np.zeros((tiles, pixels + 1))
        context = np.ascontiguousarray(context.T)
        grid = np.zeros(tiles, np.int64)
        table = self.local_table()
        for p in range(pixels):
            _local_grid_logits(padded, self.neighbours[p], self.visible_weight[p], context[p],
                               self.table_columns, table, grid)
            if mixer is None:
                padded[:, p] = draw(p, self.grid_probabilities(grid))
            else:
                k = mixer.predict(p, grid, padded)
                padded[:, p] = draw(p, k * (1.0 / (1 << PROB_BITS)))
                mixer.update(p, padded[:, p])
        return padded[:, :pixels]


@loop
def _local_logit(values, t, neighbours, weight, context, columns, table):
    """One integer logit of a local visible layer: context + sum_k weight[k] * x[neighbour k], plus
    the context table's entry for the pattern of the ``columns`` nearest neighbours (if any). Every
    sum is of integers below 2**52, exact in float64 in any order."""
    logit = context
    code = 0
    for k in range(neighbours.shape[0]):
        logit += values[t, neighbours[k]] * weight[k]
    for b in range(columns.shape[0]):
        if values[t, neighbours[columns[b]]] > 0:
            code |= 1 << b
    if columns.shape[0]:
        logit += table[code]
    return logit


@loop
def _local_logits(values, neighbours, weight, context, columns, table, width, radius, out):
    """Every logit of a batch of tiles whose pixels are all known (the encoder's view). Where no ink
    lies in the rows a pixel's neighbourhood reaches, every neighbour is white: the logit is its
    context plus the table's entry for white (adding zeros changes no float)."""
    white = table[0] if columns.shape[0] else 0.0
    for t in range(values.shape[0]):
        last_ink = -(1 << 40)
        for p in range(neighbours.shape[0]):
            if last_ink < (p // width - radius) * width:
                out[t, p] = context[t, p] + white
            else:
                out[t, p] = _local_logit(values, t, neighbours[p], weight[p], context[t, p], columns, table)
            if values[t, p] > 0:
                last_ink = p


@loop
def _local_grid_logits(padded, neighbours, weight, context, columns, table, out):
    """The grid logits (table_index - TABLE_HALF) of one position for every tile (the decoder's view)."""
    for t in range(padded.shape[0]):
        logit = _local_logit(padded, t, neighbours, weight, context[t], columns, table)
        rounded = np.floor((logit + float(1 << (GRID_SHIFT - 1))) * (1.0 / (1 << GRID_SHIFT)))
        out[t] = np.int64(min(max(rounded, -TABLE_HALF), TABLE_HALF))
