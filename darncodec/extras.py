"""Optional dependencies: what needs them, and the one-line message when they are missing.

The coding commands (compress, decompress, info, models, bench) run on numpy, numba and constriction
alone. PyTorch comes with the extra ``darncodec[train]`` (training, evaluation, sampling, ``--device
cuda``); matplotlib with ``darncodec[plot]`` (``bench --plot``).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from darncodec.errors import DarnError

TORCH_BUILDS = ("CPU-only build: pip install torch --index-url https://download.pytorch.org/whl/cpu; "
                "CUDA 12.8 build: --index-url https://download.pytorch.org/whl/cu128")


class MissingExtra(DarnError):
    """An optional package that a command needs is not installed."""


def require(module: str, purpose: str, extra: str, hint: str = "") -> ModuleType:
    """Import ``module``, or raise MissingExtra saying that ``purpose`` needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pass
    package = {"torch": "PyTorch"}.get(module, module)
    raise MissingExtra(f"{purpose} needs {package}: pip install 'darncodec[{extra}]'" + (f" ({hint})" if hint else ""))


def require_torch(purpose: str) -> ModuleType:
    """torch, or MissingExtra: '{purpose} needs PyTorch: pip install 'darncodec[train]' (...)'."""
    return require("torch", purpose, "train", TORCH_BUILDS)
