"""Reading and writing bilevel images.

A bilevel image is a 2-D ``numpy.uint8`` array of 0/1 values where 1 = black (ink).

Reading (:func:`read_bilevel`, :func:`read_bilevel_bytes`) accepts anything Pillow opens.
Every frame of a multi-frame file (pages of a TIFF, frames of a GIF) is one image: the first
frame keeps the plain name, the frame with 0-based index ``i > 0`` is named ``"<name>#<i>"``, so
the second page of ``scan.tif`` is ``scan.tif#1``. Accepted frames:

* mode ``'1'`` (Pillow's True = white, so ink = ``1 - (pixel != 0)``);
* modes ``L``, ``LA``, ``RGB``, ``RGBA``, ``P``, ``PA``, ``I`` (and ``I;16*``) whose pixels are all
  pure black (luminance 0) or pure white (luminance 255, or 65535 for ``I;16*``), with any
  alpha channel fully opaque; ``P`` images are judged through their palette.

Grey or coloured pixels are refused with :class:`~darncodec.errors.InputError` unless a
threshold ``T`` in (0, 1) is given, in which case pixels with luminance ``< T * white`` are ink
(luminance is ``0.299 R + 0.587 G + 0.114 B``). A threshold changes nothing for images that are
already black and white. Transparent pixels and other modes (CMYK, F, ...) are always refused.

Every frame's width x height is checked against ``max_pixels`` (default :data:`MAX_PIXELS`, the
codec's limit per image) before its pixels are decoded; Pillow's decompression-bomb limit is set to
the same value while a reader runs (and restored afterwards). Damaged or truncated image data is
refused, never completed with made-up pixels: Pillow's ``LOAD_TRUNCATED_IMAGES`` is held False, and
a PNG whose compressed data ends before its last row (which Pillow accepts) is refused.

:func:`load_inputs` expands a command line's worth of paths: image files, folders of images
(non-recursive) and ``.npz`` arrays.
"""

from __future__ import annotations

import contextlib
import io
import math
import struct
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageSequence, UnidentifiedImageError

from darncodec.coding.limits import DEFAULT_LIMITS
from darncodec.errors import InputError

MAX_PIXELS = DEFAULT_LIMITS.max_pixels
"""Largest frame (in pixels) the readers accept by default (``max_pixels`` raises it)."""

WRITE_FORMATS = {"png": "PNG", "pbm": "PPM", "tif": "TIFF", "tiff": "TIFF"}
"""Output extensions (without the dot) and the Pillow format each one is written with."""

_SAVE_OPTIONS = {
    "PNG": {"compress_level": 6},   # zlib's default: 6 times as fast as optimize=True on a page, 4% larger
    "PPM": {},  # a mode '1' image is written as raw PBM (P4)
    "TIFF": {"compression": "group4"},
}

# Exceptions Pillow's decoders raise on damaged or truncated data.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)

_LUMA = np.array([0.299, 0.587, 0.114])

Bilevel = tuple[str, np.ndarray]


# --------------------------------------------------------------------------------------- reading


def read_bilevel(path: str | Path, threshold: float | None = None, max_pixels: int = MAX_PIXELS) -> list[Bilevel]:
    """Read every frame of the image file at ``path`` as ``(name, bits)`` pairs.

    ``name`` is ``str(path)`` for the first frame and ``f"{path}#{i}"`` for frame ``i > 0``.
    Raises InputError for a missing file, a folder, an unreadable or damaged image, an empty
    image, or (without ``threshold``) one that is not purely black and white.
    """
    name = str(path)
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not an image file")
    if not path.exists():
        raise InputError(f"{name}: no such file")
    try:
        with open(path, "rb") as file:
            return _read_frames(file, name, threshold, max_pixels)
    except PermissionError as err:
        raise InputError(f"{name}: cannot be read ({err.strerror})") from None


def read_bilevel_bytes(data: bytes, name: str, threshold: float | None = None,
                       max_pixels: int = MAX_PIXELS) -> list[Bilevel]:
    """Like :func:`read_bilevel` for an image held in memory (e.g. read from stdin).

    ``name`` is used in frame names and error messages only.
    """
    return _read_frames(io.BytesIO(data), name, threshold, max_pixels)


def _read_frames(file: BinaryIO, name: str, threshold: float | None, max_pixels: int) -> list[Bilevel]:
    """Decode all frames of the open image ``file``; ``name`` labels results and errors."""
    _check_threshold(threshold)
    with _pillow_limits(max_pixels):
        try:
            with Image.open(file) as image:
                if image.format == "PNG":
                    _check_png_data(file, _sized(image, name, max_pixels), name)
                frames = [
                    (_frame_name(name, index), _frame_to_bits(_sized(frame, name, max_pixels), name, threshold))
                    for index, frame in enumerate(ImageSequence.Iterator(image))
                ]
        except UnidentifiedImageError:
            raise InputError(f"{name}: not an image format that can be read") from None
        except Image.DecompressionBombError:
            raise InputError(f"{name}: image is larger than {max_pixels} pixels (raise it with --max-pixels)") from None
        except _DECODE_ERRORS as err:
            raise InputError(f"{name}: damaged or unreadable image ({err})") from None
    return frames


def _sized(frame: Image.Image, name: str, max_pixels: int) -> Image.Image:
    """``frame``, once its size (known from its header, before any pixel is decoded) is within the limit."""
    if frame.width * frame.height > max_pixels:
        raise InputError(f"{name}: {frame.width}x{frame.height} = {frame.width * frame.height} pixels exceed "
                         f"the limit of {max_pixels} (raise it with --max-pixels)")
    return frame


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}   # colour type -> samples per pixel
_ADAM7 = ((0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1))


def _check_png_data(file: BinaryIO, image: Image.Image, name: str) -> None:
    """Refuse a PNG whose image data inflates to fewer bytes than its rows need: Pillow stops at the
    end of the zlib stream and leaves the missing rows as zeros (ink, for a 1-bit PNG) without an
    error. The data is inflated in pieces and counted, not kept."""
    file.seek(8)
    header = file.read(25)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header[8:21])
    bits = depth * _PNG_CHANNELS.get(colour, 1)
    passes = _ADAM7 if interlace else ((0, 0, 1, 1),)
    needed = 0
    for x0, y0, dx, dy in passes:
        cols, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if cols > 0 and rows > 0:
            needed += rows * (1 + -(-cols * bits // 8))
    inflater, inflated = zlib.decompressobj(), 0
    file.seek(8)
    while inflated < needed and not inflater.eof:
        length, kind = struct.unpack(">I4s", file.read(8) or bytes(8))
        if kind == b"IEND" or length == 0 and kind == bytes(4):
            break
        chunk = file.read(length)
        file.read(4)  # its CRC (Pillow checks it)
        while kind == b"IDAT" and chunk and inflated < needed:
            inflated += len(inflater.decompress(chunk, 1 << 20))
            chunk = inflater.unconsumed_tail
    if inflated < needed:
        raise InputError(f"{name}: damaged or truncated PNG (its data ends after {inflated} of {needed} bytes)")
    file.seek(0)


def _frame_name(name: str, index: int) -> str:
    return name if index == 0 else f"{name}#{index}"


@contextlib.contextmanager
def _pillow_limits(max_pixels: int) -> Iterator[None]:
    """Pillow's decompression-bomb limit at ``max_pixels`` (its warning silenced: frames are checked
    against the limit before decoding) and truncated images refused, for the duration of the block;
    Pillow's warnings about damaged metadata are silenced too (damage is reported as one error)."""
    previous = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = max_pixels, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _check_threshold(threshold: float | None) -> None:
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise InputError(f"threshold must lie strictly between 0 and 1, got {threshold}")


def _frame_to_bits(frame: Image.Image, name: str, threshold: float | None) -> np.ndarray:
    """Turn one Pillow frame into a 0/1 ink array, or raise InputError naming ``name``."""
    if frame.width == 0 or frame.height == 0:
        raise InputError(f"{name}: image has zero size ({frame.width}x{frame.height})")
    if frame.mode == "1":
        return (~np.asarray(frame, dtype=bool)).astype(np.uint8)
    colour, alpha, white = _channels(frame, name)
    if alpha is not None and np.any(alpha != 255):
        raise InputError(f"{name}: image has transparent pixels; flatten it onto white first")
    if threshold is not None:
        return (_luminance(colour) < threshold * white).astype(np.uint8)
    black = np.all(colour == 0, axis=2)
    if not np.all(black | np.all(colour == white, axis=2)):
        raise InputError(
            f"{name}: image is not bilevel (it has grey or coloured pixels); "
            "use --threshold T (0<T<1) to binarize it"
        )
    return black.astype(np.uint8)


def _channels(frame: Image.Image, name: str) -> tuple[np.ndarray, np.ndarray | None, int]:
    """Split a frame into colour channels (H, W, C), alpha (H, W) or None, and the white level."""
    if frame.mode in ("P", "PA"):
        frame = frame.convert("RGBA")
    if frame.mode.startswith("I;16"):
        return np.asarray(frame)[:, :, None], None, 65535
    if frame.mode not in ("L", "LA", "RGB", "RGBA", "I"):
        raise InputError(f"{name}: unsupported image mode {frame.mode!r}; save it as 1-bit")
    pixels = np.asarray(frame)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if frame.mode in ("LA", "RGBA"):
        return pixels[:, :, :-1], pixels[:, :, -1], 255
    return pixels, None, 255


def _luminance(colour: np.ndarray) -> np.ndarray:
    """Luminance (ITU-R 601 weights) of an (H, W, 1) or (H, W, 3) array."""
    return colour[:, :, 0] if colour.shape[2] == 1 else colour @ _LUMA


# --------------------------------------------------------------------------------------- writing


def write_bilevel(
    path_or_file: str | Path | BinaryIO, bits: np.ndarray, format: str | None = None
) -> None:
    """Write the 0/1 ink array ``bits`` as a 1-bit image.

    ``format`` is one of ``png``, ``pbm``, ``tif``, ``tiff`` (case-insensitive, a leading dot is
    allowed); when omitted it comes from the extension of ``path_or_file`` (or of a file
    object's ``name``). PNG is written at zlib level 6, PBM as raw P4, TIFF with CCITT Group 4.
    Raises InputError for an unknown format or an output that cannot be written, and
    ValueError if ``bits`` is not a non-empty 2-D 0/1 array.
    """
    if isinstance(path_or_file, (str, Path)):
        target = str(path_or_file)
    else:
        target = str(getattr(path_or_file, "name", "<stream>"))
    pillow_format = _pillow_format(Path(target).suffix if format is None else format, target)
    image = _bits_to_image(bits)
    try:
        image.save(path_or_file, format=pillow_format, **_SAVE_OPTIONS[pillow_format])
    except OSError as err:
        raise InputError(f"{target}: cannot write image ({err})") from None


def _pillow_format(format: str, target: str) -> str:
    key = format.lower().lstrip(".")
    if key not in WRITE_FORMATS:
        known = ", ".join(f".{ext}" for ext in WRITE_FORMATS)
        raise InputError(f"{target}: unknown output format {format!r}; use one of {known}")
    return WRITE_FORMATS[key]


def _bits_to_image(bits: np.ndarray) -> Image.Image:
    """Pack a 0/1 ink array into a Pillow mode '1' image (True = white)."""
    bits = np.asarray(bits)
    if bits.ndim != 2 or bits.size == 0:
        raise ValueError(f"expected a non-empty 2-D array, got shape {bits.shape}")
    if np.any((bits != 0) & (bits != 1)):
        raise ValueError("expected only 0/1 values")
    height, width = bits.shape
    white = np.packbits(bits == 0, axis=1)  # mode '1' raw rows: MSB first, padded to bytes
    return Image.frombytes("1", (width, height), white.tobytes())


# ------------------------------------------------------------------------------- many inputs


def load_inputs(paths: list[str], threshold: float | None = None, max_pixels: int = MAX_PIXELS) -> list[Bilevel]:
    """Load every image named by ``paths`` as ``(name, bits)`` pairs; see :func:`iter_inputs`."""
    return list(iter_inputs(paths, threshold, max_pixels))


def iter_inputs(paths: list[str], threshold: float | None = None, max_pixels: int = MAX_PIXELS) -> Iterator[Bilevel]:
    """Yield ``(name, bits)`` for each image named by ``paths``, in order, one at a time.

    Each path is one of:

    * an image file: all its frames (see :func:`read_bilevel`);
    * a folder: the files directly inside it (not in sub-folders), sorted by name, whose
      extension Pillow can open; other files are skipped silently, a folder without any
      image is an InputError;
    * ``file.npz``: every array in it, each of which must be a stack of 0/1 images;
    * ``file.npz:KEY``: only the array ``KEY`` (e.g. ``binarized_mnist.npz:test``).

    ``max_pixels`` limits every frame's pixels, and every array's values in all (its header is read
    before its data is inflated).

    Images from an array are named ``file.npz:KEY/i`` (0-based). An array must have dtype
    bool or integer, only 0/1 values, and shape (N, H, W) or (N, D) with D a perfect square
    (D = 784 gives 28x28 images); ``threshold`` does not apply to arrays.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _folder_images(path, threshold, max_pixels)
        elif path.suffix.lower() == ".npz":
            yield from _npz_images(path, raw, None, max_pixels)
        elif not path.exists() and ":" in raw and raw.rsplit(":", 1)[0].lower().endswith(".npz"):
            file, key = raw.rsplit(":", 1)
            yield from _npz_images(Path(file), file, key, max_pixels)
        else:
            yield from read_bilevel(raw, threshold, max_pixels)


def _readable_extensions() -> set[str]:
    """File extensions (lower case, with dot) of formats Pillow can open."""
    Image.init()
    return {ext for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN}


def folder_files(folder: Path) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name (an InputError if there are none)."""
    extensions = _readable_extensions()
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in extensions)
    if not files:
        raise InputError(f"{folder}: folder holds no image files")
    return files


def _folder_images(folder: Path, threshold: float | None, max_pixels: int) -> Iterator[Bilevel]:
    for file in folder_files(folder):
        yield from read_bilevel(file, threshold, max_pixels)


def _npz_images(path: Path, name: str, key: str | None, max_pixels: int) -> Iterator[Bilevel]:
    """Yield the images of one array (``key``) or of all arrays of the ``.npz`` at ``path``."""
    if not path.is_file():
        raise InputError(f"{name}: no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = [key] if key is not None else list(archive.files)
            if key is not None and key not in archive.files:
                known = ", ".join(archive.files)
                raise InputError(f"{name}: has no array {key!r} (it holds: {known})")
            stacks = [(k, _as_image_stack(_npz_array(archive, k, f"{name}:{k}", max_pixels), f"{name}:{k}"))
                      for k in keys]
    except (*_DECODE_ERRORS, zipfile.BadZipFile) as err:
        raise InputError(f"{name}: damaged or unreadable .npz file ({err})") from None
    for array_key, stack in stacks:
        for index, bits in enumerate(stack):
            yield f"{name}:{array_key}/{index}", bits


def _npz_array(archive, key: str, name: str, max_pixels: int) -> np.ndarray:
    """Array ``key`` of an open .npz, once its header (read before the data is inflated) shows at
    most ``max_pixels`` values in all."""
    with archive.zip.open(f"{key}.npy") as member:
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape = read_header(member)[0]
    if math.prod(shape) > max_pixels:
        raise InputError(f"{name}: array of shape {shape} holds more than {max_pixels} values "
                         "(raise it with --max-pixels)")
    return archive[key]


def _as_image_stack(array: np.ndarray, name: str) -> np.ndarray:
    """Check that ``array`` is a stack of 0/1 images and return it as (N, H, W) uint8."""
    if array.dtype != bool and array.dtype.kind not in "iu":
        raise InputError(f"{name}: array has dtype {array.dtype}; expected 0/1 as uint8 or bool")
    if array.ndim == 2 and math.isqrt(array.shape[1]) ** 2 == array.shape[1]:
        side = math.isqrt(array.shape[1])
        array = array.reshape(array.shape[0], side, side)
    if array.ndim != 3 or array.size == 0:
        raise InputError(
            f"{name}: array has shape {array.shape}; "
            "expected (N, H, W) or (N, D) with D a perfect square"
        )
    if array.dtype != bool and (array.min() < 0 or array.max() > 1):
        raise InputError(f"{name}: array holds values other than 0 and 1")
    return array.astype(np.uint8, copy=False)
