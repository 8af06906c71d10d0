"""Training corpora by name: (train, valid) arrays of flattened tiles for `darncodec train`.

Test splits (MNIST test, the CCITT pages) are never offered here: they are for reporting only.
"""

from __future__ import annotations

import numpy as np

from darncodec.errors import InputError

MNIST_HELD_OUT = 2000   # validation digits that ``binarized_mnist+valid`` keeps out of training


def _split_off_valid(data: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(len(data))
    n_valid = max(1, int(round(len(data) * fraction)))
    return data[order[n_valid:]], data[order[:n_valid]]


def load_training_corpus(name: str, tile: tuple[int, int] | None = None, seed: int = 0,
                         threshold: float | None = None,
                         max_tiles: int | None = None) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """(train, valid, (height, width)) for a corpus name.

    ``binarized_mnist``: the static set's train and valid splits (28x28).
    ``binarized_mnist+valid``: the train split and the valid digits from MNIST_HELD_OUT on for training,
    the first MNIST_HELD_OUT valid digits held out (more digits for a model that overfits 50,000).
    ``mnist``: MNIST train thresholded at 0.5, with 10% held out for validation.
    ``uci/NAME``: a binary UCI set's train and valid splits, as 1 x D tiles.
    ``documents``: the documents corpus of darncodec.corpora.documents (scans and line art that are
    not test pages, rendered text pages, Omniglot handwriting), cut into ``tile``-sized tiles, 5% held out.
    ``glyphs``: the glyph corpus of darncodec.corpora.glyphs (font glyphs and the glyphs of the non-test
    scans), ``glyphs:PATHS`` the glyphs cut from those images, each at the top-left of a ``tile``
    (default 32x32), 5% held out.
    anything else: image files, folders or .npz arrays (comma-separated), cut into ``tile``-sized
    tiles (at most ``max_tiles``, a seeded random subset; ``threshold`` binarises grey images), 5%
    held out.
    """
    from darncodec import corpora
    from darncodec.corpora import documents, mnist, tiles, uci

    del corpora
    if name == "glyphs" or name.startswith("glyphs:"):
        from darncodec.corpora import glyphs

        tile = tile or glyphs.TILE
        paths = [path for path in name[7:].split(",") if path] if ":" in name else None
        if paths == []:
            raise InputError("corpus glyphs: give image files or folders after 'glyphs:'")
        data = glyphs.glyph_tiles(tile[0], tile[1], paths, max_tiles=max_tiles, seed=seed, threshold=threshold)
        if len(data) < 2:
            raise InputError(f"corpus {name}: {len(data)} distinct glyph(s); training needs at least 2")
        train, valid = _split_off_valid(data.reshape(len(data), -1), 0.05, seed)
        return train, valid, tile
    if name == "binarized_mnist":
        return mnist.load_binarized_mnist("train"), mnist.load_binarized_mnist("valid"), (28, 28)
    if name == "binarized_mnist+valid":
        valid = mnist.load_binarized_mnist("valid")
        train = np.concatenate([mnist.load_binarized_mnist("train"), valid[MNIST_HELD_OUT:]])
        return train, valid[:MNIST_HELD_OUT], (28, 28)
    if name == "mnist":
        train, valid = _split_off_valid(mnist.load_mnist_idx("train"), 0.1, seed)
        return train, valid, (28, 28)
    if name.startswith("uci/"):
        set_name = name[4:]
        train, valid = uci.load_uci(set_name, "train"), uci.load_uci(set_name, "valid")
        return train, valid, (1, train.shape[1])
    if tile is None:
        raise InputError(f"corpus {name!r}: give --tile HxW to cut its images into tiles")
    if name == "documents":
        data = documents.document_tiles(tile[0], tile[1], max_tiles=max_tiles, seed=seed)
    else:
        data = tiles.folder_tiles(name.split(","), tile[0], tile[1], max_tiles=max_tiles, seed=seed,
                                  threshold=threshold)
    data = data.reshape(len(data), -1)
    train, valid = _split_off_valid(data, 0.05, seed)
    return train, valid, tile
