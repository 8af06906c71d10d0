"""The coding path: bit-identical probabilities both ways, bit-exact round trips, file size = -ELBO."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darncodec.codec import coding_model, compress, decompress, payload_bytes
from darncodec.coding.network.elbo import negative_elbo_bits
from darncodec.coding.network.integer_model import IntegerDARN
from darncodec.coding.network.quantize import quantize_and_save
from darncodec.coding.tiling import batch_schedule, from_tiles, to_tiles
from darncodec.model.config import DarnConfig
from darncodec.model.darn import DARN
from darncodec.model.io import float_tensors, load_tensors, save_model

CONFIGS = [
    DarnConfig(6, 7, latent=(40,), hidden=0, visible="full"),
    DarnConfig(8, 8, latent=(37, 5), hidden=6, visible="local", radius=2, skip=True),
    DarnConfig(5, 6, latent=(9,), hidden=4, visible="local", radius=3, shared=True, encoder_autoregressive=True),
    DarnConfig(4, 4, latent=(3,), hidden=3, visible="factorised"),
    DarnConfig(7, 9, latent=(5,), hidden=3, visible="local", radius=2, shared=True, table=7),
    DarnConfig(6, 8, latent=(6,), hidden=3, visible="local", radius=2, period=3, table=5),
    DarnConfig(8, 6, latent=(5, 3), hidden=3, visible="local", radius=2, shared=True, skip=True,
               local_hidden=(3, 4, 2, 2)),
]


def quantised(config: DarnConfig, folder, scale: float = 0.8, seed: int = 0) -> IntegerDARN:
    torch.manual_seed(seed)
    model = DARN(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, scale)
    save_model(folder / "f.safetensors", config, float_tensors(model))
    quantize_and_save(folder / "f.safetensors", folder / "q.safetensors")
    return IntegerDARN(*load_tensors(folder / "q.safetensors"))


def teacher_forced(net: IntegerDARN, decode, context: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The probabilities the incremental (decoder) path computes when it is fed ``values``."""
    seen = np.zeros(values.shape)

    def draw(unit: int, probs: np.ndarray) -> np.ndarray:
        seen[:, unit] = probs
        return values[:, unit]

    assert np.array_equal(decode(context, draw), values)
    return seen


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.visible}-{len(c.latent)}-{c.table}")
def test_batched_and_incremental_probabilities_agree_bit_for_bit(config, tmp_path) -> None:
    net = quantised(config, tmp_path)
    rng = np.random.default_rng(1)
    tiles = 23
    x = rng.integers(0, 2, (tiles, config.pixels))
    hs = [rng.integers(0, 2, (tiles, n)) for n in config.latent]
    batched = net.probabilities(net.visible_logits(net.visible_context(hs), x))
    incremental = teacher_forced(net, net.decode_visible, net.visible_context(hs), x)
    assert np.array_equal(batched, incremental)
    for k, h in enumerate(hs):
        context = net.latent_context(k, hs, tiles)
        batched = net.probabilities(net.autoregressive_logits(context, net.latent_ar[k], h))
        decode = lambda c, draw, k=k: net.decode_autoregressive(c, net.latent_ar[k], draw)  # noqa: E731
        assert np.array_equal(batched, teacher_forced(net, decode, context, h))
    if net.encoder_ar is not None:
        context = net.encoder_context(0, x)
        batched = net.probabilities(net.autoregressive_logits(context, net.encoder_ar, hs[0]))
        decode = lambda c, draw: net.decode_autoregressive(c, net.encoder_ar, draw)  # noqa: E731
        assert np.array_equal(batched, teacher_forced(net, decode, context, hs[0]))


def test_probabilities_do_not_depend_on_batch_composition(tmp_path) -> None:
    net = quantised(CONFIGS[1], tmp_path)
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, (17, 64))
    hs = [rng.integers(0, 2, (17, n)) for n in CONFIGS[1].latent]
    whole = net.probabilities(net.visible_logits(net.visible_context(hs), x))
    for i in (0, 5, 16):
        one = net.probabilities(net.visible_logits(net.visible_context([h[i:i + 1] for h in hs]), x[i:i + 1]))
        assert np.array_equal(one[0], whole[i])


@pytest.mark.parametrize("config", [CONFIGS[1], CONFIGS[5], CONFIGS[6]], ids=["local", "periodic", "local-hidden"])
def test_quantised_probabilities_stay_close_to_the_float_model(config, tmp_path) -> None:
    net = quantised(config, tmp_path, scale=0.5)
    from darncodec.model.io import build_float_model

    model = build_float_model(*load_tensors(tmp_path / "q.safetensors"))
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, (50, config.pixels))
    hs = [rng.integers(0, 2, (50, n)) for n in config.latent]
    with torch.no_grad():
        expected = torch.sigmoid(model.visible_logits(torch.tensor(x, dtype=torch.float32),
                                                      [torch.tensor(h, dtype=torch.float32) for h in hs])).numpy()
    assert np.abs(net.probabilities(net.visible_logits(net.visible_context(hs), x)) - expected).max() < 0.02
    with torch.no_grad():
        expected = torch.sigmoid(model.encoder[0](torch.tensor(x, dtype=torch.float32))).numpy()
    assert np.abs(net.probabilities(net.encoder_context(0, x)) - expected).max() < 0.02


def _text_image(height: int, width: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    image = Image.new("1", (width, height), 1)
    ImageDraw.Draw(image).text((1, 0), "Bits back 0123", fill=0)
    return 1 - np.asarray(image, dtype=np.uint8)


CONTENTS = {
    "white": lambda h, w, rng: np.zeros((h, w), np.uint8),
    "black": lambda h, w, rng: np.ones((h, w), np.uint8),
    "noise": lambda h, w, rng: rng.integers(0, 2, (h, w)).astype(np.uint8),
    "sparse": lambda h, w, rng: (rng.random((h, w)) < 0.05).astype(np.uint8),
    "text": lambda h, w, rng: _text_image(h, w),
}
SIZES = st.one_of(st.tuples(st.integers(1, 40), st.integers(1, 40)),
                  st.sampled_from([(1, 1), (1, 97), (97, 1), (2, 150), (150, 3), (8, 8), (16, 24), (9, 17)]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(images=st.lists(st.tuples(SIZES, st.sampled_from(sorted(CONTENTS)), st.integers(0, 2**32 - 1)),
                       min_size=1, max_size=4))
def test_round_trips_are_bit_exact(tiny_model_path, images) -> None:
    bits = [CONTENTS[kind](h, w, np.random.default_rng(seed)) for (h, w), kind, seed in images]
    data = compress(bits, str(tiny_model_path), names=[f"img{i}" for i in range(len(bits))])
    restored = decompress(data, str(tiny_model_path))
    assert [name for name, _ in restored] == [f"img{i}" for i in range(len(bits))]
    for original, (_, decoded) in zip(bits, restored):
        assert decoded.dtype == np.uint8 and np.array_equal(original, decoded)


def test_mnist_digits_round_trip_with_a_small_batch_limit(tiny_model_path) -> None:
    from darncodec.corpora import load_binarized_mnist

    try:
        digits = load_binarized_mnist("valid")[:40].reshape(-1, 28, 28)
    except Exception as err:  # data folder absent on a user's machine
        pytest.skip(f"binarized MNIST not available: {err}")
    data = compress(list(digits), str(tiny_model_path), max_batch=3)
    assert all(np.array_equal(a, b) for a, (_, b) in zip(digits, decompress(data, str(tiny_model_path))))


def test_archive_made_with_other_threads_and_batches_decodes_here(tiny_model_path, tmp_path) -> None:
    """Compress in a fresh process with one BLAS/torch thread and a batch limit of 5; decompress here."""
    rng = np.random.default_rng(7)
    images = [rng.integers(0, 2, (37, 29)).astype(np.uint8), (rng.random((50, 70)) < 0.1).astype(np.uint8)]
    np.savez(tmp_path / "in.npz", *images)
    script = (
        "import sys, numpy as np, torch; torch.set_num_threads(1)\n"
        "from darncodec.codec import compress\n"
        "a = np.load(sys.argv[1]); imgs = [a[k] for k in sorted(a.files, key=lambda s: int(s.split('_')[1]))]\n"
        "open(sys.argv[3], 'wb').write(compress(imgs, sys.argv[2], max_batch=5))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "in.npz"), str(tiny_model_path),
                    str(tmp_path / "out.darn")], check=True, env=env)
    restored = decompress((tmp_path / "out.darn").read_bytes(), str(tiny_model_path))
    assert all(np.array_equal(a, b) for a, (_, b) in zip(images, restored))


def test_file_size_matches_the_quantised_elbo(tiny_model_path) -> None:
    """Static coding: payload bits over many tiles come within a few percent of the summed -ELBO of
    the same tiles (the ANS overhead and the first tile's missing bits back are the difference)."""
    model = coding_model(str(tiny_model_path))
    rng = np.random.default_rng(4)
    image = (rng.random((200, 160)) < 0.3).astype(np.uint8)
    data = compress([image], model, coding="static")
    tiles, mask = to_tiles(image, *model.tile)
    elbo = negative_elbo_bits(model.network, tiles, mask, np.random.default_rng(5), samples=4).sum()
    ratio = 8 * payload_bytes(data) / elbo
    assert 0.99 < ratio < 1.02, ratio


def test_tiles_round_trip_and_masks_mark_the_image() -> None:
    image = np.random.default_rng(0).integers(0, 2, (13, 10)).astype(np.uint8)
    tiles, mask = to_tiles(image, 4, 6)
    assert tiles.shape == (8, 24) and mask.sum() == image.size
    assert np.array_equal(from_tiles(tiles, 13, 10, 4, 6), image)


def test_batch_schedule_starts_with_one_tile_and_doubles() -> None:
    assert batch_schedule(20, 8) == [(0, 1), (1, 2), (2, 4), (4, 8), (8, 16), (16, 20)]
    assert batch_schedule(1, 8) == [(0, 1)]
    assert batch_schedule(0, 8) == []


def test_adaptive_file_size_matches_its_coded_costs(tiny_model_path) -> None:
    """Adaptive coding: the payload is the sum of what each tile was charged (-log2 of the mixed
    p(x|h), -log2 p(h), + log2 q(h|x) where h was popped), within the ANS overhead."""
    model = coding_model(str(tiny_model_path))
    rng = np.random.default_rng(4)
    image = (rng.random((200, 160)) < 0.3).astype(np.uint8)
    data, (cost,) = compress([image], model, with_costs=True, coding="adaptive")
    ratio = 8 * payload_bytes(data) / cost
    assert 0.99 < ratio < 1.02, ratio


@pytest.mark.parametrize("coding, particles", [("static", None), ("particles", 4), ("adaptive", None)])
def test_a_model_with_locally_connected_layers_codes_exactly(tmp_path, coding, particles) -> None:
    """Periodic local connectivity between layers (config.local_hidden) on the coding path: the
    integer encoder and decoder expand the periodic kernels into sparse products, and every way of
    coding round-trips."""
    quantised(CONFIGS[6], tmp_path, scale=0.5)
    rng = np.random.default_rng(7)
    images = [(rng.random((h, w)) < 0.2).astype(np.uint8) for h, w in [(8, 6), (20, 13), (3, 30)]]
    data = compress(images, str(tmp_path / "q.safetensors"), coding=coding, particles=particles)
    restored = decompress(data, str(tmp_path / "q.safetensors"))
    assert all(np.array_equal(bits, image) for (_, bits), image in zip(restored, images))
