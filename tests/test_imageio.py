"""Reading and writing bilevel images, and expanding input paths (darncodec.imageio)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from darncodec.errors import InputError
from darncodec.imageio import (
    iter_inputs,
    load_inputs,
    read_bilevel,
    read_bilevel_bytes,
    write_bilevel,
)


def random_bits(height: int = 37, width: int = 53, seed: int = 0) -> np.ndarray:
    """A 0/1 ink array whose width is not a multiple of 8 (to exercise bit packing)."""
    return np.random.default_rng(seed).integers(0, 2, (height, width), dtype=np.uint8)


def only_image(path) -> np.ndarray:
    [(name, bits)] = read_bilevel(path)
    assert name == str(path)
    assert bits.dtype == np.uint8
    return bits


@pytest.mark.parametrize("ext", ["png", "pbm", "tif", "tiff"])
@pytest.mark.parametrize("shape", [(37, 53), (1, 1)])
def test_round_trip(tmp_path, ext, shape):
    bits = random_bits(*shape)
    path = tmp_path / f"image.{ext}"
    write_bilevel(path, bits)
    np.testing.assert_array_equal(only_image(path), bits)


def test_written_formats(tmp_path):
    bits = random_bits()
    write_bilevel(tmp_path / "a.pbm", bits)
    assert (tmp_path / "a.pbm").read_bytes().startswith(b"P4")
    write_bilevel(tmp_path / "a.tif", bits)
    with Image.open(tmp_path / "a.tif") as image:
        assert image.info["compression"] == "group4"
    write_bilevel(tmp_path / "a.png", bits)
    with Image.open(tmp_path / "a.png") as image:
        assert image.mode == "1"


def test_ink_is_black(tmp_path):
    bits = np.array([[1, 0]], dtype=np.uint8)
    write_bilevel(tmp_path / "a.png", bits)
    with Image.open(tmp_path / "a.png") as image:
        assert image.convert("L").getpixel((0, 0)) == 0
        assert image.convert("L").getpixel((1, 0)) == 255


def test_write_to_stream_with_explicit_format():
    bits = random_bits()
    stream = io.BytesIO()
    write_bilevel(stream, bits, format=".TIF")
    [(name, decoded)] = read_bilevel_bytes(stream.getvalue(), "<stdin>")
    assert name == "<stdin>"
    np.testing.assert_array_equal(decoded, bits)


def test_write_unknown_format(tmp_path):
    with pytest.raises(InputError, match="out.jpg"):
        write_bilevel(tmp_path / "out.jpg", random_bits())
    with pytest.raises(InputError, match="format"):
        write_bilevel(io.BytesIO(), random_bits())


def test_write_rejects_non_binary_array(tmp_path):
    with pytest.raises(ValueError):
        write_bilevel(tmp_path / "a.png", np.full((2, 2), 2, np.uint8))


def test_ascii_pbm(tmp_path):
    path = tmp_path / "p1.pbm"
    path.write_bytes(b"P1\n3 2\n1 0 1\n0 1 0\n")
    np.testing.assert_array_equal(only_image(path), [[1, 0, 1], [0, 1, 0]])


@pytest.mark.parametrize(
    "mode, ext", [("L", "png"), ("LA", "png"), ("RGB", "png"), ("RGBA", "png"), ("P", "png"),
                  ("RGB", "bmp"), ("I", "tif")]
)
def test_black_and_white_in_other_modes(tmp_path, mode, ext):
    bits = random_bits()
    path = tmp_path / f"bw.{ext}"
    Image.fromarray(((1 - bits) * 255).astype(np.uint8)).convert(mode).save(path)
    np.testing.assert_array_equal(only_image(path), bits)


def test_sixteen_bit_black_and_white(tmp_path):
    bits = random_bits()
    path = tmp_path / "deep.png"
    Image.fromarray((1 - bits).astype(np.uint16) * 65535).save(path)
    np.testing.assert_array_equal(only_image(path), bits)


def test_grey_image_rejected_with_file_name(tmp_path):
    path = tmp_path / "grey-scan.png"
    Image.fromarray(np.array([[0, 128, 255]], np.uint8)).save(path)
    with pytest.raises(InputError, match="grey-scan.png.*not bilevel.*--threshold"):
        read_bilevel(path)


def test_colour_image_rejected(tmp_path):
    path = tmp_path / "red.png"
    Image.new("RGB", (4, 4), (255, 0, 0)).save(path)
    with pytest.raises(InputError, match="red.png.*not bilevel"):
        read_bilevel(path)


def test_transparent_image_rejected(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(path)
    with pytest.raises(InputError, match="clear.png.*transparent"):
        read_bilevel(path)


def test_threshold(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.array([[0, 100, 128, 200, 255]], np.uint8)).save(path)
    [(_, half)] = read_bilevel(path, threshold=0.5)
    np.testing.assert_array_equal(half, [[1, 1, 0, 0, 0]])
    [(_, high)] = read_bilevel(path, threshold=0.9)
    np.testing.assert_array_equal(high, [[1, 1, 1, 1, 0]])


def test_threshold_out_of_range(tmp_path):
    write_bilevel(tmp_path / "a.png", random_bits())
    with pytest.raises(InputError, match="threshold"):
        read_bilevel(tmp_path / "a.png", threshold=1.5)


def test_multi_page_tiff(tmp_path):
    pages = [random_bits(seed=seed) for seed in range(3)]
    images = [Image.fromarray(page == 0) for page in pages]
    path = tmp_path / "scan.tif"
    images[0].save(path, save_all=True, append_images=images[1:], compression="group4")
    frames = read_bilevel(path)
    assert [name for name, _ in frames] == [str(path), f"{path}#1", f"{path}#2"]
    for (_, bits), page in zip(frames, pages):
        np.testing.assert_array_equal(bits, page)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="nothere.png.*no such file"):
        read_bilevel(tmp_path / "nothere.png")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(InputError, match="folder"):
        read_bilevel(tmp_path)


@pytest.mark.parametrize(
    "payload",
    [b"this is not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
    ids=["garbage", "damaged-png"],
)
def test_corrupt_file(tmp_path, payload):
    path = tmp_path / "broken.png"
    path.write_bytes(payload)
    with pytest.raises(InputError, match="broken.png"):
        read_bilevel(path)


def test_truncated_png(tmp_path):
    path = tmp_path / "cut.png"
    write_bilevel(path, random_bits(200, 200))
    path.write_bytes(path.read_bytes()[:-60])
    with pytest.raises(InputError, match="cut.png"):
        read_bilevel(path)


def test_zero_size_image():
    with pytest.raises(InputError, match="empty.pbm"):
        read_bilevel_bytes(b"P4\n0 0\n", "empty.pbm")


def test_load_folder(tmp_path):
    for name, seed in [("b.png", 1), ("a.pbm", 2)]:
        write_bilevel(tmp_path / name, random_bits(seed=seed))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    images = load_inputs([str(tmp_path)])
    assert [name for name, _ in images] == [str(tmp_path / "a.pbm"), str(tmp_path / "b.png")]
    np.testing.assert_array_equal(images[1][1], random_bits(seed=1))


def test_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(InputError, match="no image"):
        load_inputs([str(tmp_path)])


def test_load_npz(tmp_path):
    path = tmp_path / "arrays.npz"
    flat = np.random.default_rng(0).integers(0, 2, (3, 784), dtype=np.uint8)
    stack = np.zeros((2, 5, 7), dtype=bool)
    np.savez(path, flat=flat, stack=stack)
    images = load_inputs([str(path)])
    assert [name for name, _ in images] == [f"{path}:flat/{i}" for i in range(3)] + [
        f"{path}:stack/{i}" for i in range(2)
    ]
    np.testing.assert_array_equal(images[2][1], flat[2].reshape(28, 28))
    assert images[3][1].shape == (5, 7) and images[3][1].dtype == np.uint8

    selected = load_inputs([f"{path}:stack"])
    assert [name for name, _ in selected] == [f"{path}:stack/0", f"{path}:stack/1"]


def test_npz_errors(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, grey=np.full((2, 4, 4), 7, np.uint8), odd=np.zeros((2, 10), np.uint8))
    with pytest.raises(InputError, match="bad.npz:grey.*other than 0 and 1"):
        load_inputs([f"{path}:grey"])
    with pytest.raises(InputError, match="bad.npz:odd.*shape"):
        load_inputs([f"{path}:odd"])
    with pytest.raises(InputError, match="no array 'nope'"):
        load_inputs([f"{path}:nope"])
    with pytest.raises(InputError, match="missing.npz"):
        load_inputs([str(tmp_path / "missing.npz:test")])
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="junk.npz"):
        load_inputs([str(tmp_path / "junk.npz")])


def test_iter_inputs_is_lazy(tmp_path):
    write_bilevel(tmp_path / "a.png", random_bits())
    stream = iter_inputs([str(tmp_path / "a.png"), str(tmp_path / "missing.png")])
    assert next(stream)[0] == str(tmp_path / "a.png")
    with pytest.raises(InputError, match="missing.png"):
        next(stream)
