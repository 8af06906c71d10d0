"""The binary UCI datasets of DARN's Table 1, with the NADE splits.

Files are read from ``uci_binary/debd/<name>/<name>.<split>.data`` (comma-separated 0/1, one
example a line) below the data root; adult's test split, which DEBD lacks, comes from
Larochelle's ``uci_binary/adult_a5a_libsvm/a5a_test.libsvm`` (DEBD's adult train and valid are
row-for-row identical to the a5a files). Splits missing from the data snapshot (connect4 test,
ocr_letters train, rcv1 train and test) raise InputError.

Caution: DEBD's DNA split is 1600/400/1186 (Van Haaren & Davis), not the 1400/600/1186 that
NADE and DARN used, so DNA numbers are not directly comparable with the paper's table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from darncodec.errors import InputError

from .paths import data_root

UCI_DATASETS = ("adult", "connect4", "dna", "mushrooms", "nips", "ocr_letters", "rcv1")
UCI_SPLITS = ("train", "valid", "test")
ADULT_FEATURES = 123


def load_uci(name: str, split: str) -> np.ndarray:
    """The ``split`` ('train', 'valid' or 'test') of UCI dataset ``name`` as (N, D) uint8."""
    if name not in UCI_DATASETS:
        raise InputError(f"unknown UCI dataset {name!r}; expected one of {', '.join(UCI_DATASETS)}")
    if split not in UCI_SPLITS:
        raise InputError(f"unknown split {split!r}; expected one of {', '.join(UCI_SPLITS)}")
    root = data_root() / "uci_binary"
    if (name, split) == ("adult", "test"):
        return read_libsvm(root / "adult_a5a_libsvm" / "a5a_test.libsvm", ADULT_FEATURES)
    path = root / "debd" / name / f"{name}.{split}.data"
    if not path.is_file():
        raise InputError(f"{path}: the {split} split of {name} is not in the data snapshot")
    return np.loadtxt(path, delimiter=",", dtype=np.uint8, ndmin=2)


def read_libsvm(path: Path, n_features: int) -> np.ndarray:
    """Read a sparse libsvm file as (N, n_features) uint8 0/1 rows, ignoring the class labels.

    Each line is ``label index:value ...`` with 1-based indices; a feature is 1 when its value
    is non-zero.
    """
    with open(path) as file:
        lines = [line.split() for line in file if line.strip()]
    rows = np.zeros((len(lines), n_features), dtype=np.uint8)
    for row, fields in enumerate(lines):
        for field in fields[1:]:
            feature = _feature(field, n_features)
            if feature is None:
                raise InputError(f"{path}: bad feature {field!r} in example {row + 1}")
            rows[row, feature[0]] = feature[1]
    return rows


def _feature(field: str, n_features: int) -> tuple[int, bool] | None:
    """The 0-based column and presence of one ``index:value`` field, or None if malformed."""
    index, colon, value = field.partition(":")
    try:
        column, present = int(index) - 1, float(value) != 0
    except ValueError:
        return None
    return (column, present) if colon and 0 <= column < n_features else None
