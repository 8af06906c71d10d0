"""MNIST: the statically binarized set (Larochelle; 50k/10k/10k) and the original idx files.

Both test splits are TEST ONLY: never train or tune on them.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

import numpy as np

from darncodec.errors import InputError

from .paths import data_file

BINARIZED_SPLITS = ("train", "valid", "test")

IDX_IMAGE_FILES = {"train": "train-images-idx3-ubyte.gz", "test": "t10k-images-idx3-ubyte.gz"}

MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
"""sha256 of the four official idx files (see shared/data/SOURCES.md)."""

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
"""Base URLs tried in order by :func:`download_mnist`."""


def load_binarized_mnist(split: str) -> np.ndarray:
    """The ``split`` ('train', 'valid' or 'test') of binarized MNIST as (N, 784) uint8, 1 = ink.

    Reads ``binarized_mnist/binarized_mnist.npz`` below the data root.
    """
    _check_split(split, BINARIZED_SPLITS)
    path = data_file("binarized_mnist", "binarized_mnist.npz")
    with np.load(path, allow_pickle=False) as archive:
        return archive[split]


def load_mnist_idx(split: str = "train", threshold: float = 0.5) -> np.ndarray:
    """MNIST ``split`` ('train' or 'test') from the idx files, binarized, as (N, 784) uint8.

    A pixel is ink (1) when its intensity / 255 exceeds ``threshold``. Reads
    ``mnist/<train|t10k>-images-idx3-ubyte.gz`` below the data root.
    """
    _check_split(split, tuple(IDX_IMAGE_FILES))
    images = read_idx(data_file("mnist", IDX_IMAGE_FILES[split]))
    return (images.reshape(len(images), -1) > threshold * 255).astype(np.uint8)


def read_idx(path: Path) -> np.ndarray:
    """Read a gzip-compressed idx file of unsigned bytes (magic 0x0000080N) as an N-D array."""
    with gzip.open(path, "rb") as file:
        data = file.read()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise InputError(f"{path}: not an idx file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    payload = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if payload.size != np.prod(shape):
        raise InputError(f"{path}: idx header says {shape} but holds {payload.size} bytes")
    return payload.reshape(shape)


def download_mnist(dest: str | Path) -> Path:
    """Fetch the four official MNIST idx files into the folder ``dest`` and return it.

    Each file is tried from every mirror in :data:`MNIST_MIRRORS`, checked against
    :data:`MNIST_SHA256`, and only then moved into place, so ``dest`` never holds a partial or
    wrong file. Files already present with the right checksum are kept. Download into
    ``<data root>/mnist`` (e.g. ``~/.cache/darncodec/data/mnist``) for :func:`load_mnist_idx`.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for name, expected in MNIST_SHA256.items():
        target = dest / name
        if not (target.is_file() and sha256_file(target) == expected):
            _download_verified(name, expected, target)
    return dest


def _download_verified(name: str, expected: str, target: Path) -> None:
    """Download ``name`` from the first mirror that serves it with sha256 ``expected``."""
    failures = []
    for mirror in MNIST_MIRRORS:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                with urllib.request.urlopen(mirror + name, timeout=60) as response:
                    while chunk := response.read(1 << 20):
                        out.write(chunk)
            verify_sha256(Path(temporary), expected)
            os.replace(temporary, target)
            return
        except (OSError, InputError) as err:  # urllib.error.URLError is an OSError
            failures.append(f"{mirror}{name}: {err}")
        finally:
            Path(temporary).unlink(missing_ok=True)
    raise InputError(f"could not download {name}: " + "; ".join(failures))


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise InputError unless the file at ``path`` has sha256 ``expected``."""
    actual = sha256_file(path)
    if actual != expected:
        raise InputError(f"{path}: sha256 mismatch (expected {expected}, got {actual})")


def _check_split(split: str, known: tuple[str, ...]) -> None:
    if split not in known:
        raise InputError(f"unknown MNIST split {split!r}; expected one of {', '.join(known)}")
