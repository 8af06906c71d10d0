"""Processes on this machine for `-j/--jobs N`: a concurrent.futures executor that darncodec.segments
maps segments over (spawned workers, so it is safe whatever threads the parent runs)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor

MIN_PIXELS = 1 << 23   # by default, less work than this (two fax pages) is done in this process: starting a
                       # worker (a new Python that imports torch and loads the model) takes seconds

def available_cores() -> int:
    """The cores this process may run on (its affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")


@contextlib.contextmanager
def _one_thread_each() -> Iterator[None]:
    """While the workers are spawned: N workers share the cores, so each runs its libraries on one
    thread (the coding is exact integer arithmetic, so the bytes do not depend on threads). A
    library reads these variables when it loads, which in a spawned worker is before any
    initializer runs (unpickling a task imports numpy), so the workers inherit them from this
    process's environment: measured on 16 pages at -j 2, the idle threads of two OpenBLAS pools
    per worker spun 3 of 20 CPU seconds and the run took 11.1 s, against 9.5 s with them set. The
    environment is restored when the pool closes."""
    saved = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    os.environ.update({name: "1" for name in THREAD_VARIABLES})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _worker_start() -> None:
    """Worker set-up: torch, where a worker imports it (a model on a GPU: the coding path does not
    import it, which would cost each worker two seconds), on one thread as well."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def workers(jobs: int | None, tasks: int, pixels: int) -> int:
    """How many workers: ``jobs``, at most one per task; by default (None) every available core, or
    one where there are fewer than MIN_PIXELS pixels to code."""
    if jobs is None:
        jobs = available_cores() if pixels >= MIN_PIXELS else 1
    return max(1, min(jobs, tasks))


@contextlib.contextmanager
def processes(jobs: int | None, tasks: int, pixels: int) -> Iterator[Executor | None]:
    """A pool of ``workers(...)`` spawned worker processes, or None (work in this process) when that
    is one."""
    count = workers(jobs, tasks, pixels)
    if count <= 1:
        yield None
        return
    with _one_thread_each(), ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_worker_start) as pool:
        try:
            yield pool
        except BaseException:
            pool.shutdown(cancel_futures=True)   # an error: the segments not yet begun are not waited for
            raise


def executor(jobs: int | None, tasks: int, pixels: int,
             scheduler: str | None = None) -> contextlib.AbstractContextManager:
    """Where `compress` and `decompress` run their segments: on the Dask cluster at ``scheduler``
    (darncodec.cluster), else in ``processes``."""
    if scheduler is None:
        return processes(jobs, tasks, pixels)
    from darncodec.cluster import dask_executor

    return dask_executor(scheduler)
