"""Compress and decompress on a Dask cluster (docs/scale.md). A Dask ``Client`` is a concurrent.futures
executor (``client.get_executor()``), so the segments of darncodec.segments run on its workers as they
run in local processes; ``compress_files`` and ``decompress_files`` map over files instead, each read and
written by a worker through fsspec (local paths or object-store URLs such as s3://bucket/scans/a.png),
so only names pass through the client. Needs the ``cluster`` extra: pip install 'darncodec[cluster]'.
"""

from __future__ import annotations

import contextlib
import posixpath
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor

from darncodec import segments
from darncodec.errors import DarnError, InputError

SUFFIX = ".darn"


def _dask():
    try:
        import distributed
        import fsspec
    except ImportError:
        raise InputError("running on a cluster needs Dask and fsspec: pip install 'darncodec[cluster]'") from None
    return distributed, fsspec


@contextlib.contextmanager
def dask_executor(scheduler: str) -> Iterator[Executor]:
    """A concurrent.futures executor on the Dask scheduler at ``scheduler`` (e.g. tcp://host:8786); how long
    to try to connect is Dask's setting distributed.comm.timeouts.connect (30 s unless configured)."""
    distributed, _ = _dask()
    with distributed.Client(scheduler) as client:
        yield client.get_executor()


def compress_files(paths: Sequence[str], output: str, executor: Executor | None = None, model: str | None = None,
                   coding: str | None = None, device: str = "cpu", force: bool = False) -> list[str]:
    """Compress each image file of ``paths`` (fsspec paths or URLs) into its own archive in the folder
    ``output`` (a path or URL): ``<output>/<stem>.darn``. Each file is one task on ``executor``
    (None: here); returns the archives written. An existing archive is kept unless ``force``."""
    _, fsspec = _dask()
    targets = [posixpath.join(output, posixpath.splitext(posixpath.basename(path))[0] + SUFFIX) for path in paths]
    if len(set(targets)) != len(targets):
        raise InputError("two inputs would be compressed to the same archive")
    ref = segments.reference(model, segments.coding_model(model, device))
    tasks = [(path, target, ref, device, coding, force) for path, target in zip(paths, targets)]
    return _gather(executor, _compress_file, tasks)


def _compress_file(task) -> str | DarnError:
    from darncodec.imageio import read_bilevel_bytes

    source, target, ref, device, coding, force = task
    fs, path = _dask()[1].core.url_to_fs(source)
    try:
        images = read_bilevel_bytes(fs.cat_file(path), posixpath.basename(path))
        data = segments.compress([bits for _, bits in images], ref, [name for name, _ in images], device, coding)
        _write(target, data, force)
    except DarnError as err:
        return type(err)(f"{source}: {err}")
    return target


def decompress_files(paths: Sequence[str], output: str, executor: Executor | None = None, model: str | None = None,
                     device: str = "cpu", fmt: str = "png", force: bool = False) -> list[list[str]]:
    """Restore each archive of ``paths`` (fsspec paths or URLs) into the folder ``output``: image ``i``
    (from 1) of ``<stem>.darn`` becomes ``<output>/<stem>-<i>.<fmt>``; one task per archive. Returns the
    images written, per archive."""
    tasks = [(path, output, model, device, fmt, force) for path in paths]
    return _gather(executor, _decompress_file, tasks)


def _decompress_file(task) -> list[str] | DarnError:
    import io

    from darncodec.imageio import write_bilevel

    source, output, model, device, fmt, force = task
    fs, path = _dask()[1].core.url_to_fs(source)
    stem = posixpath.splitext(posixpath.basename(path))[0]
    try:
        restored = segments.decompress(fs.cat_file(path), model, device)
        written = []
        for index, _, bits in restored.images:
            image = io.BytesIO()
            write_bilevel(image, bits, fmt)
            written.append(posixpath.join(output, f"{stem}-{index + 1}.{fmt}"))
            _write(written[-1], image.getvalue(), force)
    except DarnError as err:
        return type(err)(f"{source}: {err}")
    return written


def _write(target: str, data: bytes, force: bool) -> None:
    """Write a whole file: on a local disk atomically (darncodec.fileio), on an object store in one put."""
    from darncodec.fileio import write_bytes

    from fsspec.implementations.local import LocalFileSystem

    fs, path = _dask()[1].core.url_to_fs(target)
    if isinstance(fs, LocalFileSystem):
        write_bytes(path, data, force)
        return
    if fs.exists(path) and not force:
        raise InputError(f"{target}: already exists (use force to overwrite)")
    fs.pipe_file(path, data)


def _gather(executor: Executor | None, function, tasks: list) -> list:
    """Run the tasks; the first that failed raises its error (after all have run), as darncodec does."""
    results = list(map(function, tasks) if executor is None else executor.map(function, tasks))
    failed = next((r for r in results if isinstance(r, DarnError)), None)
    if failed is not None:
        raise failed
    return results
