"""How the coding path compiles its hot loops: ``loop`` is numba.njit(cache=True) without numba's
reference counting of arrays (NRT).

numba counts references to every array a compiled function holds: each assignment of an array
(a tuple unpacked, an argument of an inlined helper, a row taken as a view, an array passed to a
function that is not inlined) adds an atomic increment and a later decrement. Its pruning pass
removes such pairs only within simple control flow, and in a per-pixel loop with branches most
stay: measured on CCITT page 1 (coder 7, this repository's 2-core machine), 60% of the decoder's
time went to NRT_incref and NRT_decref (perf record), and the page's decoding kernel took 2.5 s
with them and 0.8 s without (docs/symbols.md, *Speed*). numba's maintainers give the same remedy
(numba issues 2345, 2350): its ``_nrt=False`` option.

A ``loop`` function must not allocate (numba refuses to compile one that does: NRT is needed),
so the arrays it works in are made by its Python caller; the arrays it receives are borrowed for
the call and live in the caller. What it computes is unchanged: reference counts are bookkeeping
of memory, not part of any value (the golden archives decode the same).
"""

from __future__ import annotations

from collections.abc import Callable

import numba


def loop(function: Callable) -> Callable:
    """``function`` compiled (and cached) with no reference counting: it allocates nothing."""
    return numba.njit(cache=True, _nrt=False)(function)
