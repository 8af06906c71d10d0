"""Writing outputs safely: atomically (temp file + rename), never over an existing file unless forced,
and (inside ``outputs_removed_on_signal``) taken back when a signal stops the run."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from darncodec.errors import InputError


def write_atomically(path: str | Path, write: Callable[[str], None]) -> None:
    """Call write(tmp_path) on a temporary file beside ``path``, then rename it into place;
    on any failure the temporary file is removed and ``path`` is untouched. The file gets the
    permissions of a newly created one (0o666 less the umask), not mkstemp's private 0o600.
    An OSError names ``path``, the file the user asked for, not the temporary file."""
    path = Path(path)
    tmp: str | None = None
    try:
        with _signals_held():   # a signal now waits until tmp is known, so the handler below removes it
            handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
            os.close(handle)
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        with _signals_held():   # renamed and recorded as one step: a signal between them would leave the output
            os.replace(tmp, path)
            record_output(path)
    except BaseException as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise _naming(err, path) from None
        raise


def _naming(err: OSError, path: Path) -> OSError:
    """The same error (class, errno, message) about ``path``."""
    return type(err)(err.errno, err.strerror or str(err), str(path))
class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived (SIGINT is Python's KeyboardInterrupt); ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


_created: list[Path] | None = None   # outputs written inside outputs_removed_on_signal, oldest first
_held: list[int] | None = None       # inside _signals_held: the signals that arrived meanwhile
_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextlib.contextmanager
def outputs_removed_on_signal() -> Iterator[None]:
    """Within the block SIGTERM and SIGHUP raise Terminated and SIGINT KeyboardInterrupt, and on
    either every output that write_atomically finished in the block is removed (a temporary file
    it had not finished is removed by write_atomically itself), so a stopped run leaves nothing
    behind; then the exception goes on. Only in the main thread (where Python runs signal
    handlers); elsewhere the block runs unchanged."""
    global _created
    if _created is not None or not _in_main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _stop) for signum in (signal.SIGINT, *_SIGNALS)}
    _created = []
    try:
        yield
    except (KeyboardInterrupt, Terminated):
        for path in reversed(_created):
            with contextlib.suppress(OSError):   # a folder made, emptied by now (or left if not empty)
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink(missing_ok=True)
        raise
    finally:
        _created = None
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stop(signum: int, frame: object) -> None:
    """The handler outputs_removed_on_signal installs: stop now, or (inside _signals_held) when it ends."""
    if _held is not None:
        _held.append(signum)
    else:
        _raise(signum)


def _raise(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """A signal that arrives in the block (under outputs_removed_on_signal's handler) stops the
    run when the block ends. A flag the handler reads, not a signal mask: the kernel may hand the
    signal to any thread (numba's, torch's), and Python runs the handler in the main thread anyway."""
    global _held
    if _held is not None:   # nested: the outer block raises
        yield
        return
    _held = []
    try:
        yield
    finally:
        arrived, _held = _held, None
        if arrived:
            _raise(arrived[0])


def record_output(path: Path) -> None:
    """Count ``path`` (a file or a folder made) among the outputs a signal takes back."""
    if _created is not None:
        _created.append(Path(path))


def _in_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_writable(path: str | Path, force: bool) -> Path:
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: is a folder")
    if path.exists() and not force:
        raise InputError(f"{path}: already exists (use -f to overwrite)")
    if not path.parent.is_dir():
        raise InputError(f"{path}: no such directory {path.parent}")
    return path


def write_bytes(path: str | Path, data: bytes, force: bool) -> None:
    path = check_writable(path, force)
    write_atomically(path, lambda tmp: Path(tmp).write_bytes(data))
