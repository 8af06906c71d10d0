"""Codecs that `darncodec bench` compares, each behind one small class.

Every codec codes a 2-D uint8 array of 0/1 with 1 = black/ink (the project-wide convention)
and decodes back to the same kind of array. Pillow-based and standard-library codecs are
always there (WebP and G4 need Pillow built with libwebp and libtiff); the others drive
external programs when they are installed and otherwise report what is missing.
"""

from __future__ import annotations

import abc
import bz2
import gzip
import importlib
import io
import lzma
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Callable, ClassVar, Iterable

import numpy as np
from PIL import Image, features

from darncodec.errors import DarnError


class BenchError(DarnError):
    """A benchmark that cannot run as asked (unknown codec, nothing to compare)."""


class ToolError(BenchError):
    """An external codec program that failed or wrote nothing."""


def to_pil(bits: np.ndarray) -> Image.Image:
    """A Pillow mode '1' image of `bits` (1 = ink becomes black)."""
    height, width = bits.shape
    return Image.frombytes("1", (width, height), np.packbits(bits, axis=1).tobytes(), "raw", "1;I")


def from_pil(image: Image.Image) -> np.ndarray:
    """The 0/1 ink array of a bilevel Pillow image of any mode (dark pixels are ink)."""
    return (np.asarray(image.convert("L")) < 128).astype(np.uint8)


def read_image(data: bytes) -> np.ndarray:
    """The 0/1 ink array of an encoded image file that Pillow reads (PBM, PNG, TIFF, WebP)."""
    with Image.open(io.BytesIO(data)) as image:
        return from_pil(image)


def to_pbm(bits: np.ndarray) -> bytes:
    """A raw PBM (P4) file of `bits`: rows packed 8 pixels a byte, 1 = black."""
    height, width = bits.shape
    return b"P4\n%d %d\n" % (width, height) + np.packbits(bits, axis=1).tobytes()


class BaselineCodec(abc.ABC):
    """One codec: its name, whether it can run here, and a lossless encode/decode pair."""

    name: ClassVar[str]
    #: True for a codec that codes a whole list of images as one file (it then has
    #: `encode_set` and `decode_set`); the others code one image at a time.
    codes_sets: ClassVar[bool] = False

    def available(self) -> bool:
        """Whether everything the codec needs is present."""
        return True

    def missing(self) -> str:
        """What is missing for the codec to run, in words for the report ('' when available)."""
        return ""

    @abc.abstractmethod
    def encode(self, bits: np.ndarray) -> bytes:
        """The whole encoded file of one 0/1 image."""

    @abc.abstractmethod
    def decode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        """The 0/1 image of a file from `encode`; `shape` is (height, width) of the original."""

    def payload_size(self, data: bytes) -> int:
        """Bytes of coded image data in `data`, without the container; the whole file here."""
        return len(data)


class PillowCodec(BaselineCodec):
    """A format that Pillow writes and reads by itself."""

    format: ClassVar[str]
    #: Pillow feature the format needs (see PIL.features), or None.
    feature: ClassVar[str | None] = None

    def save_options(self) -> dict[str, object]:
        """Keyword arguments for Image.save."""
        return {}

    def available(self) -> bool:
        return self.feature is None or bool(features.check(self.feature))

    def missing(self) -> str:
        return "" if self.available() else f"Pillow was built without {self.feature}"

    def encode(self, bits: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        to_pil(bits).save(buffer, self.format, **self.save_options())
        return buffer.getvalue()

    def decode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        return read_image(data)


class PngCodec(PillowCodec):
    """PNG of a 1-bit image, Pillow's strongest zlib settings."""

    name = "png"
    format = "PNG"

    def save_options(self) -> dict[str, object]:
        return {"optimize": True}

    def payload_size(self, data: bytes) -> int:
        """Sum of the IDAT chunk lengths."""
        total, offset = 0, 8  # after the signature
        while offset + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[offset:offset + 8])
            if kind == b"IDAT":
                total += length
            offset += 12 + length  # length, type, data, CRC
        return total


class G4Codec(PillowCodec):
    """CCITT Group 4 (T.6) fax coding in a TIFF file."""

    name = "g4"
    format = "TIFF"
    feature = "libtiff"

    def save_options(self) -> dict[str, object]:
        return {"compression": "group4"}

    def payload_size(self, data: bytes) -> int:
        """Sum of the TIFF strip byte counts."""
        with Image.open(io.BytesIO(data)) as image:
            return sum(image.tag_v2[279])  # StripByteCounts


class WebpCodec(PillowCodec):
    """Lossless WebP at the slowest, strongest method."""

    name = "webp"
    format = "WEBP"
    feature = "webp"

    def save_options(self) -> dict[str, object]:
        return {"lossless": True, "quality": 100, "method": 6}


class PbmCompressorCodec(BaselineCodec):
    """A general-purpose compressor applied to the raw PBM (P4) file, at its maximum level."""

    compress: ClassVar[Callable[[bytes], bytes]]
    decompress: ClassVar[Callable[[bytes], bytes]]

    def encode(self, bits: np.ndarray) -> bytes:
        return self.compress(to_pbm(bits))

    def decode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        return read_image(self.decompress(data))


class GzipCodec(PbmCompressorCodec):
    """gzip -9 of the PBM file."""

    name = "gzip"
    compress = staticmethod(lambda data: gzip.compress(data, compresslevel=9, mtime=0))
    decompress = staticmethod(gzip.decompress)


class Bz2Codec(PbmCompressorCodec):
    """bzip2 -9 of the PBM file."""

    name = "bz2"
    compress = staticmethod(lambda data: bz2.compress(data, compresslevel=9))
    decompress = staticmethod(bz2.decompress)


class XzCodec(PbmCompressorCodec):
    """xz -9e of the PBM file."""

    name = "xz"
    compress = staticmethod(lambda data: lzma.compress(data, preset=9 | lzma.PRESET_EXTREME))
    decompress = staticmethod(lzma.decompress)


@dataclass(frozen=True)
class Tool:
    """An external program and where it comes from."""

    executable: str
    source: str

    def found(self) -> bool:
        """Whether the program is on PATH (or is a path to an existing program)."""
        return shutil.which(self.executable) is not None


@dataclass(frozen=True)
class Step:
    """How one program call converts a file: suffixes of its input and output files and
    its argument list for given paths. `stdout` means the program writes its output there."""

    tool: Tool
    input_suffix: str
    output_suffix: str
    arguments: Callable[[str, Path, Path], list[str]]
    stdout: bool = False

    def run(self, data: bytes) -> bytes:
        """Convert `data` in a temporary directory and return the output file's bytes."""
        with tempfile.TemporaryDirectory(prefix="darncodec-bench-") as folder:
            source = Path(folder, "input" + self.input_suffix)
            target = Path(folder, "output" + self.output_suffix)
            source.write_bytes(data)
            argv = self.arguments(self.tool.executable, source, target)
            try:
                done = subprocess.run(argv, capture_output=True, check=False)
            except OSError as err:
                raise ToolError(f"cannot run {self.tool.executable}: {err}") from err
            if done.returncode != 0:
                message = done.stderr.decode(errors="replace").strip().splitlines()
                detail = f": {message[-1]}" if message else ""
                raise ToolError(f"{self.tool.executable} exited with status {done.returncode}{detail}")
            if self.stdout:
                return done.stdout
            if not target.exists():
                raise ToolError(f"{self.tool.executable} wrote no output file")
            return target.read_bytes()


class ToolCodec(BaselineCodec):
    """A codec made of an encoder and a decoder program, each converting one file.

    The constructor can name other executables (another path or version), which is also
    how the tests point a codec at a program that does not exist.
    """

    encoder: ClassVar[Step]
    decoder: ClassVar[Step]

    def __init__(self, encoder: str | None = None, decoder: str | None = None) -> None:
        self.encode_step = self._renamed(type(self).encoder, encoder)
        self.decode_step = self._renamed(type(self).decoder, decoder)

    @staticmethod
    def _renamed(step: Step, executable: str | None) -> Step:
        if executable is None:
            return step
        return replace(step, tool=replace(step.tool, executable=executable))

    def _absent(self) -> list[Tool]:
        tools = dict.fromkeys([self.encode_step.tool, self.decode_step.tool])
        return [tool for tool in tools if not tool.found()]

    def available(self) -> bool:
        return not self._absent()

    def missing(self) -> str:
        return "; ".join(f"{tool.executable} not found ({tool.source})" for tool in self._absent())

    def encode_input(self, bits: np.ndarray) -> bytes:
        """The file handed to the encoder program: PBM unless a codec says otherwise."""
        return to_pbm(bits)

    def encode(self, bits: np.ndarray) -> bytes:
        return self.encode_step.run(self.encode_input(bits))

    def decode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        return read_image(self.decode_step.run(data))


_JBIGKIT = "Debian package jbigkit-bin"


class Jbig1Codec(ToolCodec):
    """JBIG1 (T.82), sequential, single layer, no typical prediction, from JBIG-KIT."""

    name = "jbig1"
    encoder = Step(Tool("pbmtojbg", _JBIGKIT), ".pbm", ".jbg",
                   lambda exe, src, dst: [exe, "-q", "-p", "0", str(src), str(dst)])
    decoder = Step(Tool("jbgtopbm", _JBIGKIT), ".jbg", ".pbm",
                   lambda exe, src, dst: [exe, str(src), str(dst)])


class Jbig2Codec(ToolCodec):
    """JBIG2 generic region coding (lossless) by jbig2enc, decoded by jbig2dec."""

    name = "jbig2"
    encoder = Step(Tool("jbig2", "jbig2enc, not packaged in Debian 12: build it from source"),
                   ".pbm", ".jb2", lambda exe, src, dst: [exe, "-d", str(src)], stdout=True)
    decoder = Step(Tool("jbig2dec", "Debian package jbig2dec"), ".jb2", ".pbm",
                   lambda exe, src, dst: [exe, "-t", "pbm", "-o", str(dst), str(src)])


_DJVULIBRE = "Debian package djvulibre-bin"


class DjvuCodec(ToolCodec):
    """DjVu JB2 bitonal coding by cjb2 (lossless), decoded by ddjvu."""

    name = "djvu"
    encoder = Step(Tool("cjb2", _DJVULIBRE), ".pbm", ".djvu",
                   lambda exe, src, dst: [exe, "-lossless", str(src), str(dst)])
    decoder = Step(Tool("ddjvu", _DJVULIBRE), ".djvu", ".pbm",
                   lambda exe, src, dst: [exe, "-format=pbm", str(src), str(dst)])


_LIBJXL = "Debian package libjxl-tools"


class JxlCodec(ToolCodec):
    """JPEG XL lossless (cjxl -d 0, default effort), through a 1-bit PNG.

    djxl is asked for 8-bit output: libjxl 0.7 writes a 1-bit image as an 8-bit PNG of
    unscaled 0/1 values otherwise.
    """

    name = "jxl"
    encoder = Step(Tool("cjxl", _LIBJXL), ".png", ".jxl",
                   lambda exe, src, dst: [exe, "-d", "0", "--quiet", str(src), str(dst)])
    decoder = Step(Tool("djxl", _LIBJXL), ".jxl", ".png",
                   lambda exe, src, dst: [exe, "--bits_per_sample=8", "--quiet", str(src), str(dst)])

    def encode_input(self, bits: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        to_pil(bits).save(buffer, "PNG")
        return buffer.getvalue()


class Paq8pxCodec(ToolCodec):
    """paq8px -8 (context mixing; it recognises the PBM file as a 1-bit image and models it so),
    decoded by paq8px -d. Archives need the same paq8px version to decode."""

    name = "paq8px"
    encoder = Step(Tool("paq8px", "paq8px is not packaged in Debian 12: build it from its source"),
                   ".pbm", ".paq8px", lambda exe, src, dst: [exe, "-8", str(src), str(dst)])
    decoder = Step(encoder.tool, ".paq8px", ".pbm", lambda exe, src, dst: [exe, "-d", str(src), str(dst)])


class DarnCodec(BaselineCodec):
    """The project's own codec: a whole list of images is one archive (bits-back chaining)."""

    name = "darncodec"
    codes_sets = True

    def __init__(self, model: str | None = None, device: str = "cpu") -> None:
        self.model = model
        self.device = device

    @staticmethod
    def _module() -> ModuleType:
        """darncodec.codec, imported on first use so that this module works without it."""
        return importlib.import_module("darncodec.codec")

    def _import_error(self) -> str:
        try:
            self._module()
        except ImportError as err:
            return f"cannot import darncodec.codec: {err}"
        return ""

    def available(self) -> bool:
        return not self._import_error()

    def missing(self) -> str:
        return self._import_error()

    def encode_set(self, images: list[np.ndarray], names: list[str] | None = None) -> bytes:
        """One archive of all `images`."""
        return self._module().compress(images, model=self.model, names=names, device=self.device)

    def decode_set(self, data: bytes) -> list[np.ndarray]:
        """The images of an archive from `encode_set`, in order."""
        return [bits for _, bits in self._module().decompress(data, model=self.model, device=self.device)]

    def encode(self, bits: np.ndarray) -> bytes:
        return self.encode_set([bits])

    def decode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        (bits,) = self.decode_set(data)
        return bits

    def payload_size(self, data: bytes) -> int:
        """The archive without its container header."""
        return self._module().payload_bytes(data)


BASELINES: dict[str, type[BaselineCodec]] = {
    codec.name: codec
    for codec in (PngCodec, G4Codec, WebpCodec, GzipCodec, Bz2Codec, XzCodec,
                  Jbig1Codec, Jbig2Codec, DjvuCodec, JxlCodec, Paq8pxCodec)
}

#: Every codec name `make_codecs` knows, in report order.
CODEC_NAMES: tuple[str, ...] = (DarnCodec.name, *BASELINES)


def make_codecs(names: Iterable[str] | None = None, *, model: str | None = None,
                device: str = "cpu") -> list[BaselineCodec]:
    """Instances of the named codecs (all of CODEC_NAMES when None), available or not.

    `model` and `device` go to the darncodec codec. Unknown names raise BenchError.
    """
    chosen = list(CODEC_NAMES if names is None else names)
    unknown = [name for name in chosen if name not in CODEC_NAMES]
    if unknown:
        raise BenchError(f"unknown codec {', '.join(unknown)}; known: {', '.join(CODEC_NAMES)}")
    return [DarnCodec(model, device) if name == DarnCodec.name else BASELINES[name]()
            for name in chosen]


def available_codecs(names: Iterable[str] | None = None, *, model: str | None = None,
                     device: str = "cpu") -> list[BaselineCodec]:
    """The codecs of `make_codecs` that can run on this machine."""
    return [codec for codec in make_codecs(names, model=model, device=device) if codec.available()]
