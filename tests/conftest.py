"""Shared fixtures: tiny model files for fast coding tests (8x8 tiles, a few units)."""

from __future__ import annotations

from pathlib import Path

import pytest


def _make_tiny_model(folder: Path, seed: int) -> Path:
    """Write a random quantised model (float weights + coding tables) and return its path."""
    import torch

    from darncodec.coding.network.quantize import quantize_and_save
    from darncodec.model.config import DarnConfig
    from darncodec.model.darn import DARN
    from darncodec.model.io import float_tensors, save_model

    torch.manual_seed(seed)
    config = DarnConfig(8, 8, latent=(6, 4), hidden=5, visible="local", radius=2, table=5, skip=True)
    model = DARN(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.5)
    float_path, coding_path = folder / "float.safetensors", folder / "tiny.safetensors"
    save_model(float_path, config, float_tensors(model))
    quantize_and_save(float_path, coding_path)
    return coding_path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A tiny quantised coding model (8x8 tiles); pass it as ``--model PATH`` / ``model=PATH``."""
    return _make_tiny_model(tmp_path_factory.mktemp("tiny_model"), seed=0)


@pytest.fixture(scope="session")
def other_tiny_model_path(tmp_path_factory) -> Path:
    """Same shape as ``tiny_model_path`` but other weights, hence another content hash."""
    return _make_tiny_model(tmp_path_factory.mktemp("other_tiny_model"), seed=1)


@pytest.fixture(scope="session")
def damage_never_gives_a_wrong_image():
    """check(data, model, image, seed, flips): the archive's payload cut short, shifted, or with
    ``flips`` random bits flipped, behind valid checksums, decodes to a FormatError or to ``image``
    (a change that alters nothing decoded), never to a wrong image nor another error."""
    import numpy as np

    from darncodec import codec
    from darncodec.coding import container
    from darncodec.errors import FormatError

    def check(data: bytes, model, image, seed: int, flips: int) -> None:
        header, words = container.unpack(data)
        rng = np.random.default_rng(seed)
        variants = [words[:-1], words[1:], np.concatenate([[1], words])]
        for _ in range(flips):
            flipped = words.copy()
            flipped[rng.integers(len(words) - 1)] ^= np.uint32(1 << int(rng.integers(32)))
            variants.append(flipped)
        for variant in variants:
            try:
                decoded = codec.decompress(container.pack(header, np.asarray(variant, np.uint32)), model)
            except FormatError:
                continue
            np.testing.assert_array_equal(decoded[0][1], image)

    return check
