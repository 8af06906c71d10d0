"""Embedded models: files named ``<name>-<hash prefix>.safetensors`` listed in ``models.json``.

A model is asked for by name, by path, or (when decompressing) by the content hash in a file's
header; the hash of every embedded file is checked when it is loaded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from darncodec.errors import ModelError
from darncodec.model.config import DarnConfig
from darncodec.model.io import content_hash, load_tensors

ZOO_DIR = Path(__file__).parent
DEFAULT_MODEL = "docs"
DEFAULT_GLYPH_MODEL = "glyphs"   # codes the symbol stage's dictionaries, where it is embedded


@dataclass(frozen=True)
class ZooEntry:
    name: str
    file: str
    hash: str
    corpus: str
    description: str
    test_bpp: dict

    @property
    def path(self) -> Path:
        return ZOO_DIR / self.file


def entries() -> list[ZooEntry]:
    listing = ZOO_DIR / "models.json"
    if not listing.exists():
        return []
    return [ZooEntry(**item) for item in json.loads(listing.read_text())]


@dataclass(frozen=True)
class ModelFile:
    """A loaded model file: its config, every tensor, its hash and where it came from."""

    config: DarnConfig
    tensors: dict
    hash: str
    source: str

    @property
    def has_coding_tables(self) -> bool:
        return "coding.prob_table" in self.tensors


def _load(path: str) -> ModelFile:
    stat = Path(path).stat()
    return _load_version(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_version(path: str, mtime_ns: int, size: int) -> ModelFile:
    """Cached per (path, modification time, size), so a rewritten file is read again."""
    del mtime_ns, size
    config, tensors = load_tensors(path)
    return ModelFile(config, tensors, content_hash(config, tensors), path)


def load_model_file(name_or_path: str | None = None) -> ModelFile:
    """An embedded model by name (None: the default) or a model file by path."""
    name_or_path = name_or_path or DEFAULT_MODEL
    for entry in entries():
        if name_or_path == entry.name:
            model = _load(str(entry.path))
            if model.hash != entry.hash:
                raise ModelError(f"embedded model {entry.name!r} is damaged (hash mismatch)")
            return model
    if Path(name_or_path).is_file():
        return _load(str(Path(name_or_path).resolve()))
    known = ", ".join(e.name for e in entries()) or "none"
    raise ModelError(f"unknown model {name_or_path!r}: not a file and not an embedded model ({known})")


def find_by_hash(model_hash: str) -> ModelFile | None:
    for entry in entries():
        if entry.hash == model_hash:
            return load_model_file(entry.name)
    return None
