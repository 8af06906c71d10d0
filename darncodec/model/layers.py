"""The building blocks of a DARN in floating point (training side)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from darncodec.model.neighbourhood import (kernel_count, neighbour_index, periodic_rows, shared_windows, table_columns,
                                          window_taps)


class Conditional(nn.Module):
    """Logits of one layer given the layer above: linear, or linear -> tanh -> linear (Eq. 9-10);
    ``inner`` or ``outer`` replace the linear maps into or out of the tanh layer (a PeriodicLocal)."""

    def __init__(self, n_in: int, n_out: int, hidden: int, inner: nn.Module | None = None,
                 outer: nn.Module | None = None) -> None:
        super().__init__()
        if hidden:
            self.inner: nn.Module | None = inner or nn.Linear(n_in, hidden)
            self.outer = outer or nn.Linear(hidden, n_out)
        else:
            self.inner = None
            self.outer = nn.Linear(n_in, n_out)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.inner is not None:
            inputs = torch.tanh(self.inner(inputs))
        return self.outer(inputs)


class PeriodicLocal(nn.Module):
    """A locally connected layer with periodic weight sharing (Gregor & LeCun 2010; the paper's
    section 2.2 and Atari model): output position l of the grid ``outputs`` = (rows, columns,
    channels) sees the kernel x kernel window of the grid ``inputs`` around it (window_taps), through
    the weights of its class, (row mod period, column mod period). Grids are flattened position-major,
    as window_taps lays them out; a pixel tile is the grid (height, width, 1)."""

    def __init__(self, inputs: tuple[int, int, int], outputs: tuple[int, int, int], kernel: int, period: int) -> None:
        super().__init__()
        taps = window_taps(inputs, outputs[:2], kernel)
        classes = periodic_rows(*outputs[:2], period)
        windows, members, place = shared_windows(taps, classes, outputs[2])
        for name, value in {"classes": classes, "windows": windows, "member_kernels": members.clip(0),
                            "members": members >= 0, "place": place}.items():
            self.register_buffer(name, torch.from_numpy(value), persistent=False)
        bound = 1 / math.sqrt(taps.shape[1])      # as nn.Linear initialises a layer of this fan-in
        self.weight = nn.Parameter(torch.empty(period * period, outputs[2], taps.shape[1]).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(period * period, outputs[2]).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = torch.cat([x, x.new_zeros(x.shape[0], 1)], dim=1)
        windows = padded[:, self.windows]                                                # (batch, windows, taps)
        kernels = self.weight[self.member_kernels] * self.members[:, :, None, None]      # (windows, members, out, taps)
        products = torch.einsum("buk,uqok->buqo", windows, kernels).reshape(x.shape[0], -1)
        return products[:, self.place] + self.bias[self.classes].reshape(-1)


class AutoregressiveLinear(nn.Module):
    """sum_{i<j} W_ji h_i: one product with a strictly lower-triangular matrix (Eq. 2)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n, n))
        self.register_buffer("mask", torch.tril(torch.ones(n, n), diagonal=-1), persistent=False)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h @ self.masked_weight().T

    def unit_logit(self, h: torch.Tensor, j: int) -> torch.Tensor:
        """``forward(h)[:, j]`` from the units before j alone, in O(j): ancestral sampling's step."""
        return h[:, :j] @ self.weight[j, :j]


class LocalAutoregressive(nn.Module):
    """sum_k W[p,k] x[neighbour(p,k)] over the causal neighbourhood of every pixel p (section 2.2).

    ``shared`` ties W[p,k] over positions p (a masked convolution); ``period`` ties it over positions
    equal modulo the period (periodic local connectivity); otherwise each position has its own
    weights (locally connected). With ``table`` > 0, T[c(p)] is added, where c(p) is the pattern
    of the ``table`` nearest neighbours read as a binary number: a nonlinear function of the
    nearest context, learned once for a corpus (JBIG's templates adapt such a table per image).
    """

    def __init__(self, height: int, width: int, radius: int, shared: bool, table: int = 0, period: int = 0) -> None:
        super().__init__()
        index = torch.from_numpy(neighbour_index(height, width, radius))
        self.register_buffer("index", index, persistent=False)
        # each position's kernel (None: its own, the position's row of the weights)
        rows = np.zeros(height * width, np.int64) if shared else periodic_rows(height, width, period) if period else None
        self.register_buffer("rows", None if rows is None else torch.from_numpy(rows), persistent=False)
        self.weight = nn.Parameter(torch.zeros(kernel_count(height * width, shared, period), index.shape[1]))
        self.table: nn.Parameter | None = nn.Parameter(torch.zeros(1 << table)) if table else None
        self.register_buffer("table_columns", torch.from_numpy(table_columns(radius, table)), persistent=False)
        self.register_buffer("table_powers", 2.0 ** torch.arange(table), persistent=False)

    def kernels(self) -> torch.Tensor:
        """Every position's kernel: (1 or pixels, neighbours), broadcasting over the positions."""
        return self.weight if self.rows is None or len(self.weight) == 1 else self.weight[self.rows]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = torch.cat([x, x.new_zeros(x.shape[0], 1)], dim=1)
        values = padded[:, self.index]
        logits = (values * self.kernels()).sum(-1)
        if self.table is not None:
            code = values[:, :, self.table_columns] @ self.table_powers
            logits = logits + self.table[code.long()]
        return logits

    def unit_logit(self, x: torch.Tensor, j: int) -> torch.Tensor:
        """``forward(x)[:, j]`` from pixel j's neighbours alone, in O(neighbours): ancestral
        sampling's step, which would cost O(pixels) per pixel through ``forward``."""
        pixels = x.shape[1]
        index = self.index[j]
        # index_select, not x[:, index]: advanced indexing of columns is ~1000x slower here
        values = x.index_select(1, index.clamp_max(pixels - 1)) * (index < pixels)      # outside the tile: 0
        logit = values @ self.weight[j if self.rows is None else self.rows[j]]
        if self.table is not None:
            code = values.index_select(1, self.table_columns) @ self.table_powers
            logit = logit + self.table[code.long()]
        return logit
