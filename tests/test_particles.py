"""Monte Carlo bits-back with particles (coder id 5, darncodec.coding.particles, docs/format.md)."""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from darncodec import codec
from darncodec.coding import container, particles
from darncodec.coding.network.elbo import information_bits, tile_indices
from darncodec.coding.network.fixed_point import probability_table
from darncodec.coding.tiling import batch_schedule, to_tiles
from darncodec.errors import FormatError, InputError
from darncodec.imageio import read_bilevel

GOLDEN = Path(__file__).parent / "data"
SAMPLES = Path(__file__).parents[1] / "corpora" / "samples"


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return codec.coding_model(str(tiny_model_path))


def sparse_images(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((37, 50)) < 0.25).astype(np.uint8), (rng.random((8, 8)) < 0.5).astype(np.uint8),
            (rng.random((3, 70)) < 0.1).astype(np.uint8)]


@pytest.mark.parametrize("count", [1, 2, 3, 5, 8])
def test_round_trips_for_every_particle_count(model, count) -> None:
    images = sparse_images(count)
    data, costs = codec.compress(images, model, coding="particles", particles=count, max_batch=16, with_costs=True)
    header = codec.read_header(data)
    assert (header.coder, header.particles, header.coding) == (container.CODER_PARTICLES, count, "particles")
    for (_, bits), expected in zip(codec.decompress(data, model), images, strict=True):
        np.testing.assert_array_equal(bits, expected)
    assert abs(8 * codec.payload_bytes(data) - sum(costs)) < 0.02 * sum(costs) + 64
    assert codec.image_costs(data, model) == costs


def test_encoder_and_decoder_weights_agree_bit_for_bit(model, monkeypatch) -> None:
    """Every batch's integer weights and table indices, as the encoder computed them (from the h it
    popped) and as the decoder recomputed them (from the h it decoded), are the same integers."""
    seen: list[tuple[np.ndarray, list[np.ndarray]]] = []
    original = particles.ParticleCodec.weights

    def recording(self, *args):
        w, index = original(self, *args)
        seen.append((w.copy(), [index.visible, *index.posterior, *index.prior]))
        return w, index

    monkeypatch.setattr(particles.ParticleCodec, "weights", recording)
    images = sparse_images(11)
    data = codec.compress(images, model, coding="particles", particles=6, max_batch=24)
    encoder = list(seen)
    seen.clear()
    codec.decompress(data, model)
    decoder = seen[::-1]   # the decoder takes the batches last to first
    assert len(encoder) == len(decoder) > 3
    assert any(w.shape[1] == 6 and len(set(w.ravel().tolist())) > 2 for w, _ in encoder)
    for (w_enc, index_enc), (w_dec, index_dec) in zip(encoder, decoder):
        assert w_enc.dtype == np.int64 and np.array_equal(w_enc, w_dec)
        assert all(np.array_equal(a, b) for a, b in zip(index_enc, index_dec, strict=True))


def enumerable_model(tmp_path: Path):
    """A 6 x 6 model with 5 latent units (32 values of h): exact -log p by enumeration."""
    import torch

    from darncodec.coding.network.quantize import quantize_and_save
    from darncodec.model.config import DarnConfig
    from darncodec.model.darn import DARN
    from darncodec.model.io import float_tensors, save_model

    torch.manual_seed(3)
    config = DarnConfig(6, 6, latent=(5,), hidden=8, visible="local", radius=2)
    darn = DARN(config)
    with torch.no_grad():
        for p in darn.parameters():
            p.normal_(0, 0.5)
    save_model(tmp_path / "f.safetensors", config, float_tensors(darn))
    quantize_and_save(tmp_path / "f.safetensors", tmp_path / "q.safetensors")
    return codec.coding_model(str(tmp_path / "q.safetensors"))


def exact_bits(net, tiles: np.ndarray) -> float:
    """-log2 p(x) summed over tiles, p(x) = sum over all h of p(x|h) p(h) from the coder's probabilities."""
    units = net.config.latent[0]
    every_h = np.array(list(itertools.product([0, 1], repeat=units)), np.float64)
    total = 0.0
    for x in tiles:
        rows = np.repeat(x[None], len(every_h), 0)
        index = tile_indices(net, rows, [every_h])
        log_joint = -(information_bits(rows, net.table[index.visible])
                      + information_bits(every_h, net.table[index.prior[0]]))
        top = log_joint.max()
        total -= top + math.log2(np.exp2(log_joint - top).sum())
    return total


def test_coded_length_approaches_the_exact_log_likelihood(tmp_path) -> None:
    """On a model whose h can be enumerated, the bits coded per tile fall towards the exact -log2 p(x)
    as S grows: the one-sample gap (the -ELBO's; 5.6 bits a tile here) falls to under a quarter with 32
    particles (0.8 bits a tile)."""
    model = enumerable_model(tmp_path)
    rng = np.random.default_rng(0)
    image = (rng.random((6 * 20, 6 * 20)) < 0.3).astype(np.uint8)
    tiles = to_tiles(image, 6, 6)[0]
    exact = exact_bits(model.network, tiles)
    gaps = {}
    for count in (1, 4, 32):
        data, (cost,) = codec.compress([image], model, coding="particles", particles=count, with_costs=True)
        np.testing.assert_array_equal(codec.decompress(data, model)[0][1], image)
        gaps[count] = cost - exact
    assert gaps[1] > 2 * len(tiles), gaps       # the encoder is a poor posterior: a gap to close
    assert gaps[1] > gaps[4] > gaps[32] > -1, gaps
    assert gaps[32] < 0.25 * gaps[1], gaps


def test_schedule_grows_with_the_tiles_coded() -> None:
    assert particles.particle_schedule(20, 1, 8) == batch_schedule(20, 8)
    assert particles.particle_schedule(20, 4, 8) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, 7),
                                                     (7, 8), (8, 10), (10, 12), (12, 14), (14, 16), (16, 18),
                                                     (18, 20)]
    assert particles.particle_schedule(0, 4, 8) == []
    assert particles.particle_schedule(5, 1000, 8) == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]


def test_integer_costs_and_weights_are_close_to_their_real_values() -> None:
    k = probability_table()
    cost0, cost1 = particles.cost_tables(k)
    scale = 1 << particles.COST_BITS
    assert np.abs(cost1 / scale + np.log2(k / 2**24)).max() < 2 / scale
    assert np.abs(cost0 / scale + np.log2(1 - k / 2**24)).max() < 2 / scale
    steps = np.arange(256)
    assert np.abs(particles.weight_table() - 2.0 ** (24 - steps / 256)).max() < 1
    assert particles.weight_table()[0] == 2**24


def test_index_splits_pop_what_was_pushed() -> None:
    import constriction

    rng = np.random.default_rng(1)
    weights = rng.integers(1, 2**24, (50, 7))
    weights[:5] = 1
    j = rng.integers(0, 7, 50)
    coder = constriction.stream.stack.AnsCoder()
    cost = particles.push_index(coder, weights, j)
    popped, gained = particles.pop_index(coder, weights)
    np.testing.assert_array_equal(popped, j)
    np.testing.assert_allclose(cost, gained)
    assert coder.is_empty()
    share = weights[np.arange(50), j] / weights.sum(1)
    assert np.abs(cost + np.log2(share)).max() < 1e-3


def test_particles_choose_coder_5_and_are_checked(model) -> None:
    image = np.zeros((30, 20), np.uint8)
    image[10:20, 5:15] = 1   # not noise (the tiny model stores noise by default: coder 6)
    assert codec.read_header(codec.compress([image], model)).coder == container.CODER_PARTICLES
    assert codec.read_header(codec.compress([image], model)).particles == particles.DEFAULT_PARTICLES
    assert codec.read_header(codec.compress([image], model, coding="static")).coder == container.CODER_STATIC
    with pytest.raises(InputError, match="particles must be"):
        codec.compress([image], model, coding="particles", particles=container.MAX_PARTICLES + 1)
    with pytest.raises(InputError, match="one particle"):
        codec.compress([image], model, coding="static", particles=4)


def test_header_holds_s_after_the_fixed_fields(model) -> None:
    data = codec.compress([np.eye(12, dtype=np.uint8)], model, ["a.png"], coding="particles", particles=300)
    assert data[5] == container.CODER_PARTICLES
    assert struct.unpack_from("<H", data, 52)[0] == 300
    table_size = struct.unpack_from("<I", data, 48)[0]
    assert container.header_size(data) == 52 + 2 + table_size + 20
    for bad in (0, container.MAX_PARTICLES + 1):
        damaged = bytearray(data)
        struct.pack_into("<H", damaged, 52, bad)
        crc_at = 54 + table_size + 16
        struct.pack_into("<I", damaged, crc_at, zlib.crc32(bytes(damaged[:crc_at])))
        with pytest.raises(FormatError, match="particles"):
            codec.decompress(bytes(damaged), model)


def test_damaged_particle_payload_is_a_format_error(model) -> None:
    """A payload changed behind valid checksums gives a FormatError or the right images."""
    images = sparse_images(5)
    data = bytearray(codec.compress(images, model, coding="particles", particles=4))
    header_end = container.header_size(bytes(data))
    rng = np.random.default_rng(2)
    for _ in range(20):
        damaged = bytearray(data)
        damaged[rng.integers(header_end, len(data))] ^= 1 << int(rng.integers(0, 8))
        payload = bytes(damaged[header_end:])
        struct.pack_into("<I", damaged, header_end - 12, zlib.crc32(payload))
        struct.pack_into("<I", damaged, header_end - 4, zlib.crc32(bytes(damaged[:header_end - 4])))
        try:
            decoded = codec.decompress(bytes(damaged), model)
        except FormatError:
            continue
        assert all(np.array_equal(a, b) for a, (_, b) in zip(images, decoded))


@pytest.mark.parametrize("name, model", [("digits-mnist-particles.darn", None),
                                         ("digits-mnist-v3-particles.darn", "mnist")])
def test_golden_particle_archive_decodes(name: str, model: str | None) -> None:
    """Archives of coder 5 (S = 4), 16 digits made from the sample digit: one made with the embedded
    model mnist-v2 (it was called mnist then) while a batch popped particles only where the coder
    held twice their bits (PARTICLE_MARGIN 2, before session 9), one made with today's encoder and
    ``model``. Both decode forever; today's encoder still writes the second byte for byte."""
    data = (GOLDEN / name).read_bytes()
    header = codec.read_header(data)
    assert (header.coder, header.particles) == (container.CODER_PARTICLES, 4)
    expected = golden_digits()
    np.testing.assert_array_equal(codec.decompress(data)[0][1], expected)
    if model is not None:
        assert codec.compress([expected], model, names=["digits.png"], coding="particles", particles=4) == data


def golden_digits() -> np.ndarray:
    """A 4 x 4 grid of the sample digit, shifted and mirrored (112 x 112 pixels, 16 tiles)."""
    (_, digit), = read_bilevel(SAMPLES / "digit.png")
    rows = []
    for r in range(4):
        row = [np.roll(digit, (r - 1, c - 1), (0, 1)) for c in range(4)]
        rows.append(np.concatenate([tile[:, ::-1] if (r + c) % 3 == 0 else tile for c, tile in enumerate(row)], 1))
    return np.concatenate(rows, 0)
