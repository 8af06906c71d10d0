"""Page-adaptive mixing (darncodec.coding.mixing.tiled): both sides compute the same probabilities, the
shortcuts change nothing, it pays on repetitive pages, and archives made before it still decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from darncodec import codec
from darncodec.coding import container, tiling
from darncodec.coding.mixing import tiled as adaptive
from darncodec.coding.network.fixed_point import TABLE_HALF, probability_table
from darncodec.errors import ModelError
from darncodec.imageio import read_bilevel

SAMPLES = Path(__file__).resolve().parents[1] / "corpora" / "samples"
GOLDEN = Path(__file__).resolve().parent / "data"


def random_batches(rng, tiles: int, pixels: int, batches: int, density: float = 0.2):
    x = (rng.random((tiles * batches, pixels)) < density).astype(np.int64)
    x[:tiles // 2] = 0                                                  # some blank tiles
    mask = np.ones(x.shape, bool)
    mask[-1, pixels // 2:] = False                                      # padding is never coded
    x[~mask] = 0
    grid = rng.integers(-TABLE_HALF, TABLE_HALF + 1, x.shape)
    return x, mask, grid


def test_encoder_passes_and_decoder_steps_give_the_same_probabilities() -> None:
    """count_pass + encode (the encoder, whole batches) against predict/update (the decoder, one
    position at a time), over several batches whose counts carry over."""
    rng = np.random.default_rng(0)
    height, width, tiles = 9, 11, 7
    x, mask, grid = random_batches(rng, tiles, height * width, batches=3)
    table = probability_table()
    encoder, decoder = adaptive.AdaptiveContexts(height, width, table), adaptive.AdaptiveContexts(height, width, table)
    for batch in range(3):
        rows = slice(batch * tiles, (batch + 1) * tiles)
        stage = encoder.batch(batch * tiles, mask[rows])
        stage.count_pass(x[rows])
        encoded = stage.encode(grid[rows], x[rows])
        mixer = decoder.batch(batch * tiles, mask[rows])
        values = np.zeros((tiles, height * width + 1))
        for p in range(height * width):
            k = mixer.predict(p, grid[rows, p], values)
            np.testing.assert_array_equal(k, encoded[:, p])
            values[:, p] = x[rows, p]
            mixer.update(p, values[:, p])
    np.testing.assert_array_equal(encoder.counts, decoder.counts)
    np.testing.assert_array_equal(encoder.state_map, decoder.state_map)


def test_white_context_shortcut_reads_the_same_slots() -> None:
    """A tile with no ink near the pixel takes the shortcut; computing its codes in full gives the
    same slots and inputs."""
    height = width = 16
    contexts = adaptive.AdaptiveContexts(height, width, probability_table())
    contexts.counts[:] = np.random.default_rng(1).integers(0, adaptive.COUNT_LIMIT // 2 + 1, contexts.counts.shape)
    values = np.zeros((2, height * width + 1))
    values[:, 3] = 1                                                    # ink far above the pixel
    p = 12 * width + 5
    results = []
    for last_ink in (3, adaptive.NO_INK):                               # full computation, shortcut
        slots, inputs, buckets = np.zeros((2, 6), np.int64), np.zeros((2, 8), np.int64), np.zeros(2, np.int64)
        adaptive._count_lookup(values, contexts.context[p], contexts.sizes, contexts.offsets,
                               contexts.counts, contexts.estimate, slots, inputs, buckets,
                               np.full(2, last_ink), 0 if last_ink == 3 else adaptive._white_below(p, width))
        results.append((slots, inputs, buckets))
    for full, short in zip(*results):
        np.testing.assert_array_equal(full, short)


def test_stretch_inverts_the_probability_table() -> None:
    table = probability_table()
    stretch = adaptive.stretch_table(table)
    assert np.all(np.diff(stretch) >= 0)
    grid = np.arange(-1000, 1001, 50)
    k16 = table[grid + TABLE_HALF] >> 8
    assert np.abs(stretch[k16] - grid).max() <= 2


def test_adaptive_coding_pays_on_a_repetitive_page(tiny_model_path) -> None:
    """The same glyph many times over: the counts learn it, the static model cannot."""
    model = codec.coding_model(str(tiny_model_path))
    glyph = (np.random.default_rng(3).random((5, 6)) < 0.5).astype(np.uint8)
    page = np.zeros((96, 96), np.uint8)
    for y in range(0, 90, 8):
        for x in range(1, 90, 9):
            page[y + 1:y + 6, x:x + 6] = glyph
    static = codec.compress([page], model, coding="static")
    mixed = codec.compress([page], model)
    assert codec.read_header(mixed).adaptive and not codec.read_header(static).adaptive
    assert len(mixed) < 0.7 * len(static)
    for data in (static, mixed):
        np.testing.assert_array_equal(codec.decompress(data, model)[0][1], page)


def test_schedule_groups_large_images_alone_and_small_ones_together() -> None:
    big = tiling.GROUP_TILES
    schedule = tiling.adaptive_schedule([3, 2, big, 1, big + 5], max_batch=big // 2)
    assert [group for *_, group in schedule] == [0] * 4 + [1, 1] + [2] + [3, 3, 3]
    assert schedule[:4] == [(0, 1, 0), (1, 2, 0), (2, 4, 0), (4, 5, 0)]   # the first group doubles
    assert schedule[4:] == [(5, 5 + big // 2, 1), (5 + big // 2, 5 + big, 1), (5 + big, 6 + big, 2),
                            (6 + big, 6 + big + big // 2, 3), (6 + big + big // 2, 6 + 2 * big, 3),
                            (6 + 2 * big, 11 + 2 * big, 3)]


@pytest.mark.parametrize("coding", ["adaptive-tiles", "adaptive"])
@pytest.mark.parametrize("shapes", [[(40, 37)] * 3, [(90, 72), (9, 9), (70, 80)]], ids=["one group", "groups"])
def test_many_batches_and_images_round_trip(tiny_model_path, shapes, coding) -> None:
    model = codec.coding_model(str(tiny_model_path))
    rng = np.random.default_rng(5)
    images = [(rng.random(shape) < d).astype(np.uint8) for shape, d in zip(shapes, (0.0, 0.05, 0.5))]
    data = codec.compress(images, model, max_batch=40, coding=coding)
    assert codec.read_header(data).coding == coding
    for (_, bits), image in zip(codec.decompress(data, model), images, strict=True):
        np.testing.assert_array_equal(bits, image)


def test_a_page_does_not_inherit_the_previous_pages_counts(tiny_model_path) -> None:
    """Two large images in one archive cost about what they cost alone (each group starts afresh)."""
    model = codec.coding_model(str(tiny_model_path))
    rng = np.random.default_rng(6)
    pages = [(rng.random((96, 96)) < d).astype(np.uint8) for d in (0.05, 0.4)]
    together = codec.payload_bytes(codec.compress(pages, model))
    alone = sum(codec.payload_bytes(codec.compress([page], model)) for page in pages)
    assert together < alone * 1.01


def test_adaptive_needs_a_local_visible_layer(tmp_path) -> None:
    from darncodec.coding.network.quantize import quantize_and_save
    from darncodec.model.config import DarnConfig
    from darncodec.model.darn import DARN
    from darncodec.model.io import float_tensors, save_model

    config = DarnConfig(4, 4, latent=(3,), hidden=0, visible="factorised")
    save_model(tmp_path / "f.safetensors", config, float_tensors(DARN(config)))
    quantize_and_save(tmp_path / "f.safetensors", tmp_path / "q.safetensors")
    model = codec.coding_model(str(tmp_path / "q.safetensors"))
    image = np.eye(4, dtype=np.uint8)
    assert not codec.read_header(codec.compress([image], model)).adaptive   # the default adapts where it can
    with pytest.raises(ModelError, match="local visible layer"):
        codec.compress([image], model, coding="adaptive")


@pytest.mark.parametrize("name, model", [("text", "docs"), ("digit", "mnist")])
def test_archives_of_the_first_release_still_decode(name, model) -> None:
    """Made by the release before adaptive mixing (coder id 1) with the embedded models."""
    data = (GOLDEN / f"{name}-{model}-v1-static.darn").read_bytes()
    assert data[5] == container.CODER_STATIC
    (_, expected), = read_bilevel(SAMPLES / f"{name}.png")
    (decoded_name, bits), = codec.decompress(data)
    assert decoded_name == f"{name}.png"
    np.testing.assert_array_equal(bits, expected)
