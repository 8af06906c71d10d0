"""Corpus loaders, data-root resolution, tiling and the shipped samples (darncodec.corpora)."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest

from darncodec.corpora import (
    cut_tiles,
    data_root,
    download_mnist,
    folder_tiles,
    load_binarized_mnist,
    load_mnist_idx,
    load_uci,
    samples_dir,
)
from darncodec.corpora import mnist
from darncodec.corpora.mnist import read_idx, verify_sha256
from darncodec.corpora.paths import DATA_ENV_VAR
from darncodec.corpora.uci import read_libsvm
from darncodec.errors import InputError
from darncodec.imageio import read_bilevel, write_bilevel


def _data_missing_reason() -> str:
    try:
        data_root()
    except InputError as err:
        return str(err)
    return ""


requires_data = pytest.mark.skipif(
    bool(_data_missing_reason()), reason=f"shared data not available: {_data_missing_reason()}"
)


# ----------------------------------------------------------------------------------- data root


def test_data_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    assert data_root() == tmp_path


def test_data_root_names_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match=f"nowhere.*{DATA_ENV_VAR}"):
        data_root()


def test_missing_data_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(InputError, match="binarized_mnist.npz"):
        load_binarized_mnist("test")


# ---------------------------------------------------------------------------------------- MNIST


@requires_data
def test_binarized_mnist():
    for split, count, mean in [("valid", 10000, 0.1311), ("test", 10000, 0.1325)]:
        images = load_binarized_mnist(split)
        assert images.shape == (count, 784) and images.dtype == np.uint8
        assert set(np.unique(images)) == {0, 1}
        assert images.mean() == pytest.approx(mean, abs=1e-3)


@requires_data
def test_binarized_mnist_with_valid_digits():
    """binarized_mnist+valid trains on the train split and the valid digits after the held-out ones,
    never on a test digit."""
    from darncodec.training.datasets import MNIST_HELD_OUT, load_training_corpus

    train, held_out, shape = load_training_corpus("binarized_mnist+valid")
    valid = load_binarized_mnist("valid")
    assert shape == (28, 28) and len(train) == 50000 + 10000 - MNIST_HELD_OUT
    np.testing.assert_array_equal(held_out, valid[:MNIST_HELD_OUT])
    np.testing.assert_array_equal(train[50000:], valid[MNIST_HELD_OUT:])
    test = {row.tobytes() for row in load_binarized_mnist("test")}
    assert not any(row.tobytes() in test for row in train[50000:])


@requires_data
def test_mnist_idx_test_split():
    images = load_mnist_idx("test")
    assert images.shape == (10000, 784) and images.dtype == np.uint8
    assert images.mean() == pytest.approx(0.13, abs=0.01)


def test_unknown_split():
    with pytest.raises(InputError, match="split"):
        load_binarized_mnist("dev")


def test_read_idx(tmp_path):
    path = tmp_path / "tiny-idx3-ubyte.gz"
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2, 3, 4))
    path.write_bytes(gzip.compress(header + bytes(range(24))))
    np.testing.assert_array_equal(read_idx(path), np.arange(24).reshape(2, 3, 4))
    path.write_bytes(gzip.compress(header + bytes(5)))
    with pytest.raises(InputError, match="holds 5 bytes"):
        read_idx(path)


def test_verify_sha256(tmp_path):
    path = tmp_path / "file.bin"
    path.write_bytes(b"darn")
    verify_sha256(path, hashlib.sha256(b"darn").hexdigest())
    with pytest.raises(InputError, match="file.bin.*sha256 mismatch"):
        verify_sha256(path, "0" * 64)


def test_download_mnist_from_local_mirror(tmp_path, monkeypatch):
    """The whole download path, served from a file:// 'mirror' (no network needed)."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    files = {name: name.encode() for name in mnist.MNIST_SHA256}
    for name, content in files.items():
        (mirror / name).write_bytes(content)
    sums = {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}
    monkeypatch.setattr(mnist, "MNIST_MIRRORS", ("file:///nonexistent/", mirror.as_uri() + "/"))
    monkeypatch.setattr(mnist, "MNIST_SHA256", sums)

    dest = download_mnist(tmp_path / "dest")
    assert sorted(p.name for p in dest.iterdir()) == sorted(files)

    monkeypatch.setattr(mnist, "MNIST_SHA256", {**sums, "t10k-images-idx3-ubyte.gz": "0" * 64})
    with pytest.raises(InputError, match="t10k-images-idx3-ubyte.gz.*sha256 mismatch"):
        download_mnist(tmp_path / "bad")
    assert "t10k-images-idx3-ubyte.gz" not in {p.name for p in (tmp_path / "bad").iterdir()}
    assert not any(p.name.startswith(".") for p in (tmp_path / "bad").iterdir())


# ------------------------------------------------------------------------------------------ UCI


@requires_data
@pytest.mark.parametrize(
    "name, split, shape",
    [
        ("adult", "train", (5000, 123)),
        ("adult", "valid", (1414, 123)),
        ("adult", "test", (26147, 123)),
        ("mushrooms", "train", (2000, 112)),
        ("mushrooms", "test", (5624, 112)),
    ],
)
def test_uci_shapes(name, split, shape):
    data = load_uci(name, split)
    assert data.shape == shape and data.dtype == np.uint8
    assert data.max() == 1


@requires_data
def test_uci_split_missing_from_snapshot():
    with pytest.raises(InputError, match="test split of connect4 is not in the data snapshot"):
        load_uci("connect4", "test")


def test_uci_unknown_dataset():
    with pytest.raises(InputError, match="unknown UCI dataset"):
        load_uci("iris", "train")


def test_read_libsvm(tmp_path):
    path = tmp_path / "tiny.libsvm"
    path.write_text("+1 1:1 3:1\n\n-1 4:1\n-1\n")
    np.testing.assert_array_equal(
        read_libsvm(path, 4), [[1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    )
    for bad in ["+1 5:1\n", "+1 0:1\n", "+1 2\n", "+1 x:1\n"]:
        path.write_text(bad)
        with pytest.raises(InputError, match="tiny.libsvm.*bad feature"):
            read_libsvm(path, 4)


# ---------------------------------------------------------------------------------------- tiles


def test_cut_tiles_shapes_and_padding():
    bits = np.ones((5, 7), np.uint8)
    tiles = cut_tiles(bits, 4, 4)
    assert tiles.shape == (4, 4, 4) and tiles.dtype == np.uint8
    assert tiles[0].all()
    np.testing.assert_array_equal(tiles[1], [[1, 1, 1, 0]] * 4)  # right edge padded
    np.testing.assert_array_equal(tiles[2], [[1, 1, 1, 1]] + [[0, 0, 0, 0]] * 3)  # bottom edge
    assert tiles[3].sum() == 3


def test_cut_tiles_reassemble():
    bits = np.random.default_rng(0).integers(0, 2, (30, 45), dtype=np.uint8)
    tiles = cut_tiles(bits, 8, 16)
    assert tiles.shape == (4 * 3, 8, 16)
    whole = tiles.reshape(4, 3, 8, 16).transpose(0, 2, 1, 3).reshape(32, 48)
    np.testing.assert_array_equal(whole[:30, :45], bits)
    assert not whole[30:].any() and not whole[:, 45:].any()


def test_cut_tiles_stride():
    bits = np.arange(35).reshape(5, 7) % 2
    assert cut_tiles(bits, 4, 4, stride=2).shape == (2 * 3, 4, 4)
    assert cut_tiles(bits, 4, 4, stride=(1, 3)).shape == (2 * 2, 4, 4)
    assert cut_tiles(bits, 8, 8).shape == (1, 8, 8)


def test_folder_tiles(tmp_path):
    rng = np.random.default_rng(0)
    for index in range(3):
        page = np.zeros((32, 32), np.uint8)
        page[:16] = rng.integers(0, 2, (16, 32))  # top half inked, bottom half blank
        write_bilevel(tmp_path / f"page{index}.png", page)
    everything = folder_tiles([str(tmp_path)], 8, 8)
    assert everything.shape == (3 * 16, 8, 8)
    inked = folder_tiles([str(tmp_path)], 8, 8, skip_blank=True)
    assert len(inked) == 3 * 8 and all(tile.any() for tile in inked)

    subset = folder_tiles([str(tmp_path)], 8, 8, max_tiles=5, seed=3, skip_blank=True)
    assert subset.shape == (5, 8, 8)
    again = folder_tiles([str(tmp_path)], 8, 8, max_tiles=5, seed=3, skip_blank=True)
    np.testing.assert_array_equal(subset, again)
    positions = [np.flatnonzero((inked == tile).all(axis=(1, 2)))[0] for tile in subset]
    assert positions == sorted(set(positions))  # distinct tiles, in input order


# -------------------------------------------------------------------------------------- samples


def test_samples_are_small_bilevel_images():
    samples = sorted(samples_dir().glob("*.png"))
    assert len(samples) >= 2
    for path in samples:
        assert path.stat().st_size < 8192
        [(_, bits)] = read_bilevel(path)
        assert 0 < bits.mean() < 0.5


def _fonts_missing() -> bool:
    from darncodec.corpora.documents import font_files

    return not font_files()


@pytest.mark.skipif(_fonts_missing(), reason="no fonts under /usr/share/fonts to render pages with")
def test_rendered_pages_are_seeded_fax_pages_with_some_ink():
    from darncodec.corpora.documents import PAGE, rendered_pages

    first, second = list(rendered_pages(2, seed=7))
    assert first.shape == second.shape == PAGE and first.dtype == np.uint8 and set(np.unique(first)) <= {0, 1}
    assert 0.005 < first.mean() < 0.3 and not np.array_equal(first, second)
    assert np.array_equal(next(rendered_pages(1, seed=7)), first)


@requires_data
def test_omniglot_pages_hold_handwriting_and_no_ccitt_page_is_a_document_image():
    from darncodec.corpora.documents import omniglot_pages, scanned_images

    page = next(omniglot_pages())
    assert page.shape == (2376, 1728) and 0.01 < page.mean() < 0.3
    ccitt = [bits for _, bits in read_bilevel(data_root() / "bilevel_docs" / "ccitt" / "ccitt1.pbm")]
    assert not any(bits.shape == ccitt[0].shape and np.array_equal(bits, ccitt[0]) for bits in scanned_images())
