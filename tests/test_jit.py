"""coding.jit.loop: the per-pixel kernels compile without numba's reference counting, and such a
kernel cannot allocate (numba refuses it at compile time rather than leaking or crashing)."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from darncodec.coding.ans import kernel
from darncodec.coding.jit import loop
from darncodec.coding.mixing import raster, strokes
from darncodec.coding.network import integer_model

HOT = [raster._count_pass, raster._mix_pass, raster._decode, raster._in_coding_order, raster._slots_at,
       raster._row_start, raster._refine, strokes.stroke_keys, kernel.pop_bit, kernel.push_bit,
       integer_model._local_logit, integer_model._local_logits, integer_model._local_grid_logits]


@pytest.mark.parametrize("function", HOT, ids=lambda f: f.__name__)
def test_hot_kernels_count_no_references(function) -> None:
    assert function.targetoptions.get("_nrt") is False


def test_a_loop_cannot_allocate() -> None:
    def total(n):
        return np.zeros(n).sum()

    with pytest.raises(numba.core.errors.TypingError):
        loop(total)(3)


def test_a_loop_reads_and_writes_the_arrays_it_is_given() -> None:
    def cumulative(values, out):
        running = 0
        for i in range(values.shape[0]):
            running += values[i]
            out[i] = running

    out = np.zeros(5, np.int64)
    loop(cumulative)(np.arange(5, dtype=np.int64), out)
    np.testing.assert_array_equal(out, [0, 1, 3, 6, 10])
