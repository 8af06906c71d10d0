"""Where the corpora live on disk.

The data root is, in order of preference:

1. the folder named by the environment variable ``DARNCODEC_DATA`` (when set, it is the only
   place looked at, so a mistyped value fails loudly instead of silently using other data);
2. ``../shared/data`` next to the repository checkout this package is imported from;
3. ``~/.cache/darncodec/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

from darncodec.errors import InputError

DATA_ENV_VAR = "DARNCODEC_DATA"

_REPO_ROOT = Path(__file__).resolve().parent.parent


def samples_dir() -> Path:
    """The folder of small sample images shipped with the package."""
    return Path(__file__).resolve().parent / "samples"


def data_root() -> Path:
    """The first existing data root (see the module docstring), or InputError listing the tries."""
    configured = os.environ.get(DATA_ENV_VAR)
    if configured:
        candidates = [Path(configured).expanduser()]
    else:
        candidates = [_REPO_ROOT.parent / "shared" / "data", Path.home() / ".cache/darncodec/data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise InputError(f"no data folder found (looked in: {looked}); set {DATA_ENV_VAR}")


def data_file(*parts: str) -> Path:
    """The file at ``parts`` below the data root, or InputError if it is missing."""
    path = data_root().joinpath(*parts)
    if not path.is_file():
        raise InputError(f"{path}: data file not found")
    return path
