"""Writing outputs safely: atomically (temp file + rename) and never over an existing file unless forced."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from darncodec.errors import InputError


def write_atomically(path: str | Path, write: Callable[[str], None]) -> None:
    """Call write(tmp_path) on a temporary file beside ``path``, then rename it into place;
    on any failure the temporary file is removed and ``path`` is untouched. The file gets the
    permissions of a newly created one (0o666 less the umask), not mkstemp's private 0o600.
    An OSError names ``path``, the file the user asked for, not the temporary file."""
    path = Path(path)
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as err:
        raise _naming(err, path) from None
    os.close(handle)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise _naming(err, path) from None
        raise


def _naming(err: OSError, path: Path) -> OSError:
    """The same error (class, errno, message) about ``path``."""
    return type(err)(err.errno, err.strerror or str(err), str(path))


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
