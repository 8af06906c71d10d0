"""Model files: safetensors weights plus the config as metadata; never unpickled.

A file holds the float weights (prefix ``float.``), used for training and evaluation, and, once
quantised, the integer coding tables (prefix ``coding.``) that the codec uses. A model is
identified by the sha256 of its canonical content (config, then every tensor by sorted name with
its dtype, shape and little-endian bytes), so renaming or re-serialising a file keeps its identity.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from darncodec.errors import ModelError
from darncodec.fileio import write_atomically
from darncodec.model.config import DarnConfig
from darncodec.model.neighbourhood import kernel_count

if TYPE_CHECKING:  # torch is imported where a float model is built, not for coding
    from darncodec.model.darn import DARN

FORMAT = "darncodec-model-1"
FLOAT_PREFIX = "float."
CODING_PREFIX = "coding."


def content_hash(config: DarnConfig, tensors: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(FORMAT.encode() + b"\0" + config.to_json().encode() + b"\0")
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        digest.update(f"{name}:{little.dtype.str}:{list(little.shape)}\0".encode())
        digest.update(little.tobytes())
    return digest.hexdigest()


def save_model(path: str | Path, config: DarnConfig, tensors: dict[str, np.ndarray]) -> str:
    """Write a model file atomically; returns its content hash."""
    meta = {"format": FORMAT, "config": config.to_json()}
    write_atomically(Path(path), lambda tmp: save_file({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())}, tmp,
                                                       metadata=meta))
    return content_hash(config, tensors)


def load_tensors(path: str | Path) -> tuple[DarnConfig, dict[str, np.ndarray]]:
    """Read a model file; every failure becomes a ModelError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata() or {}
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, UnicodeDecodeError) as err:
        raise ModelError(f"{path}: not a readable darncodec model file ({err})") from None
    if meta.get("format") != FORMAT:
        raise ModelError(f"{path}: not a darncodec model file (format {meta.get('format')!r})")
    try:
        config = DarnConfig.from_json(meta["config"])
    except (KeyError, TypeError, ValueError, RecursionError) as err:
        raise ModelError(f"{path}: damaged model config ({err})") from None
    check_float_tensors(config, tensors, str(path))
    return config, tensors


def float_shapes(config: DarnConfig) -> dict[str, tuple[int, ...]]:
    """The name and shape of every ``float.*`` tensor a model of ``config`` has (those of
    ``DARN(config).state_dict()``, worked out without building it; tests compare the two)."""
    latent, hidden = config.latent, config.hidden
    shapes: dict[str, tuple[int, ...]] = {"top_bias": (latent[-1],)}

    def linear(name: str, n_in: int, n_out: int) -> None:
        shapes.update({f"{name}.weight": (n_out, n_in), f"{name}.bias": (n_out,)})

    def conditional(prefix: str, n_in: int, n_out: int) -> None:
        if hidden:
            linear(f"{prefix}.inner", n_in, hidden)
            linear(f"{prefix}.outer", hidden, n_out)
        else:
            linear(f"{prefix}.outer", n_in, n_out)

    for level, units in enumerate(latent):
        below = config.pixels if level == 0 else latent[level - 1]
        conditional(f"decoder.{level}", sum(latent[level:]) if config.skip else units, below)
        conditional(f"encoder.{level}", below, units)
        shapes[f"latent_ar.{level}.weight"] = (units, units)
    if config.local_hidden:   # level 0's tanh layer is a grid locally connected to the pixels (layers.PeriodicLocal)
        classes = config.local_hidden[3] ** 2
        linear("decoder.0.inner", sum(latent) if config.skip else latent[0], config.grid_units)
        linear("encoder.0.outer", config.grid_units, latent[0])
        for name, (inputs, outputs, kernel) in config.local_layers.items():
            shapes.update({f"{name}.weight": (classes, outputs[2], kernel * kernel * inputs[2]),
                           f"{name}.bias": (classes, outputs[2])})
    if config.visible == "full":
        shapes["visible_ar.weight"] = (config.pixels, config.pixels)
    elif config.visible == "local":
        # len(causal_offsets(radius)), counted rather than built (a crafted radius may be huge)
        neighbours = config.radius * (2 * config.radius + 2)
        shapes["visible_ar.weight"] = (kernel_count(config.pixels, config.shared, config.period), neighbours)
        if config.table:
            shapes["visible_ar.table"] = (1 << config.table,)
    if config.encoder_autoregressive:
        shapes["encoder_ar.weight"] = (latent[0], latent[0])
    return {FLOAT_PREFIX + name: shape for name, shape in shapes.items()}


def check_float_tensors(config: DarnConfig, tensors: dict[str, np.ndarray], source: str) -> None:
    """The ``float.*`` tensors are exactly those the config implies, float32 and finite; else ModelError."""
    expected = float_shapes(config)
    floats = {name: array for name, array in tensors.items() if name.startswith(FLOAT_PREFIX)}
    missing, unexpected = sorted(expected.keys() - floats.keys()), sorted(floats.keys() - expected.keys())
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise ModelError(f"{source}: weights do not fit the config ({what})")
    for name, shape in expected.items():
        array = floats[name]
        if array.shape != shape or array.dtype != np.float32:
            raise ModelError(f"{source}: {name} is {array.dtype}{list(array.shape)}, "
                             f"the config needs float32{list(shape)}")
        if not np.isfinite(array).all():
            raise ModelError(f"{source}: {name} holds values that are not finite")


def float_tensors(model: DARN) -> dict[str, np.ndarray]:
    return {FLOAT_PREFIX + k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def build_float_model(config: DarnConfig, tensors: dict[str, np.ndarray], source: str = "model") -> DARN:
    import torch

    from darncodec.model.darn import DARN

    model = DARN(config)
    state = {k[len(FLOAT_PREFIX):]: torch.from_numpy(v) for k, v in tensors.items() if k.startswith(FLOAT_PREFIX)}
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise ModelError(f"{source}: weights do not fit the config ({first})") from None
    return model.eval()


def with_context_table(model: DARN, table: int) -> DARN:
    """``model`` with a context table of ``table`` pixels added to its local visible layer, the new
    logits zero so that it starts out computing exactly what ``model`` computes (for fine-tuning)."""
    from dataclasses import replace

    from darncodec.model.darn import DARN

    grown = DARN(replace(model.config, table=table))
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    assert missing == ["visible_ar.table"] and not unexpected, (missing, unexpected)
    return grown.eval()
