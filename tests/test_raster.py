"""Page-adaptive mixing in page raster order (darncodec.coding.mixing.raster, coder id 3): the coding order,
the canvas, agreement of the encoder's passes with the decoder's kernel, and what crossing tile
borders gains."""

from __future__ import annotations

from pathlib import Path

import constriction
import numpy as np
import pytest

from darncodec import codec
from darncodec.coding import container, groups
from darncodec.coding.mixing import raster
from darncodec.coding.ans.streams import push_in_order
from darncodec.coding.network.elbo import information_bits
from darncodec.coding.network.fixed_point import PROB_BITS
from darncodec.coding.tiling import to_tiles
from darncodec.imageio import read_bilevel
from darncodec.zoo import find_by_hash

SAMPLES = Path(__file__).resolve().parents[1] / "corpora" / "samples"
GOLDEN = Path(__file__).resolve().parent / "data"


def test_coding_order_is_page_raster_order_within_each_tile_row() -> None:
    page = raster.PageCanvas([(20, 30)], 8, 8)            # 3 x 4 tiles
    label = np.arange(7 * 64).reshape(7, 64)              # tiles 2..8: the end of row 0, all of row 1, row 2's first
    live = np.ones((7, 64), np.bool_)
    live[6, 60:] = False                                  # a padding pixel is not in the order
    values, probs = np.zeros(live.sum(), np.int32), np.zeros(live.sum())
    raster._in_coding_order(label, label / 1000, live, page.strips(2, 9), 8, 8, values, probs)
    np.testing.assert_array_equal(probs, values / 1000)
    assert sorted(values) == sorted(label[live])
    tile, pixel = values // 64, values % 64
    canvas_index = page.base[2:9][tile] + (pixel // 8) * page.stride + pixel % 8
    strip_of = np.array([0, 0, 1, 1, 1, 1, 2])[tile]
    for strip in range(3):                                # inside a strip, the canvas is walked in raster order
        assert np.all(np.diff(canvas_index[strip_of == strip]) > 0)
    assert np.all(np.diff(strip_of) >= 0)


def test_canvas_reads_white_around_every_image() -> None:
    """Each image has white margins wide enough for every context offset; images never touch."""
    page = raster.PageCanvas([(9, 20), (30, 7)], 8, 8)
    for (h, w), first in (((9, 20), 0), ((30, 7), 6)):
        top_left = page.base[first]
        reach = top_left + page.relative                  # the context of the image's first pixel
        assert reach.min() >= 0 and len(set(reach) & set(page.base)) == 0
    assert page.canvas.size > page.base.max() + 7 * page.stride + 7


@pytest.mark.parametrize("coder", [container.CODER_RASTER, container.CODER_STROKES])
def test_encoder_passes_and_decoder_kernel_agree(tiny_model_path, coder) -> None:
    """The encoder's count and mix passes give the probabilities the decoder's fused kernel pops
    with: pushed with them, every pixel pops back and the coder ends where it started (coder 3,
    and coder 7 with its stroke models)."""
    model = codec.coding_model(str(tiny_model_path))
    net = model.network
    rng = np.random.default_rng(7)
    image = (rng.random((40, 50)) < 0.3).astype(np.uint8)
    image[10:30] = np.tile((np.arange(50) % 5 < 2).astype(np.uint8), (20, 1))   # stripes across tile borders
    x, mask = to_tiles(image, *model.tile)
    hs = [(rng.random((len(x), units)) < 0.5).astype(np.int64) for units in net.config.latent]
    context = net.visible_context(hs)
    grid = net.grid_logits(net.visible_logits(context, x))
    encoder, decoder = (model.adaptive_contexts(coder) for _ in range(2))
    for contexts in (encoder, decoder):
        contexts.enter_group(0, [image.shape], 0)
    batches = ((0, 7), (7, len(x)))
    stages = []
    for start, stop in reversed(batches):                   # counted in decoding order: the last batch first
        stages.insert(0, encoder.batch(start, mask[start:stop]))
        stages[0].count_pass(x[start:stop])
    coder = constriction.stream.stack.AnsCoder()
    coder.encode_reverse(np.array([1, 0, 1], np.int32), constriction.stream.model.Bernoulli(perfect=False),
                         np.full(3, 0.3))                  # something underneath the batches
    before = coder.get_compressed().copy()
    for stage, (start, stop) in zip(stages, batches):
        k = stage.encode(grid[start:stop], x[start:stop])
        live = k[mask[start:stop]]
        assert live.min() >= 1 and live.max() < 1 << PROB_BITS
        push_in_order(coder, *stage.in_coding_order(x[start:stop], k * (1.0 / (1 << PROB_BITS))))
    for start, stop in reversed(batches):
        decoded, coder = decoder.batch(start, mask[start:stop]).decode(coder, net, context[start:stop])
        np.testing.assert_array_equal(decoded, x[start:stop])
    np.testing.assert_array_equal(coder.get_compressed(), before)
    np.testing.assert_array_equal(encoder.tables.counts, decoder.tables.counts)


@pytest.mark.parametrize("coder", [container.CODER_RASTER, container.CODER_STROKES])
def test_a_batch_mixed_in_its_count_pass_codes_what_the_mix_pass_codes(tiny_model_path, coder) -> None:
    """A batch coded without the DARN is mixed inside its count pass (push_mixed): the same bits and
    probabilities, in the same order, as the count pass followed by the mix pass at grid logit 0."""
    model = codec.coding_model(str(tiny_model_path))
    rng = np.random.default_rng(11)
    image = (rng.random((45, 70)) < 0.2).astype(np.uint8)
    x, mask = to_tiles(image, *model.tile)
    kept, mixed = (model.adaptive_contexts(coder) for _ in range(2))
    for contexts in (kept, mixed):
        contexts.enter_group(0, [image.shape], 0)
    stage, fused = kept.batch(0, mask), mixed.batch(0, mask)
    stage.count_pass(x)
    fused.count_pass(x, mixed=True)
    values, probs = stage.in_coding_order(x, stage.encode(np.zeros(x.shape, np.int64), x) * (1.0 / (1 << PROB_BITS)))
    np.testing.assert_array_equal(fused.coded & 1, values)
    np.testing.assert_array_equal((fused.coded >> 1) * (1.0 / (1 << PROB_BITS)), probs)
    np.testing.assert_allclose(fused.tile_bits, information_bits(x, stage.encode(np.zeros(x.shape, np.int64), x)
                                                                 * (1.0 / (1 << PROB_BITS)), mask))
    np.testing.assert_array_equal(kept.tables.counts, mixed.tables.counts)


def test_contexts_across_tile_borders_pay(tiny_model_path) -> None:
    """Ruled lines that cross every tile border: the tiled coder meets each line afresh at the top
    of a tile, the raster coder sees the line above."""
    model = codec.coding_model(str(tiny_model_path))
    rng = np.random.default_rng(8)
    page = np.zeros((160, 160), np.uint8)
    for y in range(3, 160, 6):
        page[y, :] = 1
    page |= (rng.random(page.shape) < 0.01).astype(np.uint8)
    tiled = codec.compress([page], model, coding="adaptive-tiles")
    raster_coded = codec.compress([page], model, coding="adaptive")
    assert codec.read_header(raster_coded).coder == container.CODER_RASTER
    assert len(raster_coded) < 0.9 * len(tiled)
    for data in (tiled, raster_coded):
        np.testing.assert_array_equal(codec.decompress(data, model)[0][1], page)


@pytest.mark.parametrize("coding, sample", [("adaptive-tiles", "text"), ("adaptive", "text"), ("symbols", "letter"),
                                            ("strokes", "text")])
def test_golden_adaptive_archives_decode(coding, sample) -> None:
    """Archives of each adaptive coder, made with the embedded documents model, decode forever, and
    the encoder still writes them byte for byte (a change of either coding shows up here). The
    symbols archive (coder 4) codes a page with a dictionary, made with the documents model as its
    dictionary model too."""
    data = (GOLDEN / f"{sample}-docs-{coding}.darn").read_bytes()
    header = codec.read_header(data)
    assert header.coding == coding
    (_, expected), = read_bilevel(SAMPLES / f"{sample}.png")
    np.testing.assert_array_equal(codec.decompress(data)[0][1], expected)
    glyphs = header.model_hash if coding == "symbols" else None
    assert codec.compress([expected], names=[header.images[0].name], coding=coding,
                          glyph_model=glyphs and codec.coding_model(find_by_hash(glyphs))) == data


def force_darn(patch: pytest.MonkeyPatch, with_darn: bool) -> None:
    """Make coder 3's encoder code every batch with the DARN, or every batch without it."""
    def forced(coder, bitsback_codec, x, mask, bits_back, stage):
        pushed = coder.clone()
        return pushed, bitsback_codec.push(pushed, x, mask, bits_back, stage, latent=with_darn), with_darn

    patch.setattr(groups, "_cheaper_of", forced)


@pytest.mark.parametrize("with_darn", [True, False])
def test_batches_with_and_without_the_darn_round_trip(tiny_model_path, monkeypatch, with_darn) -> None:
    """Each batch's flag says whether it was coded with the DARN (h by bits back) or without it;
    forced either way, every batch decodes, and the file is what the coded costs say."""
    model = codec.coding_model(str(tiny_model_path))
    page = (np.random.default_rng(9).random((100, 90)) < 0.1).astype(np.uint8)
    with monkeypatch.context() as patch:
        force_darn(patch, with_darn)
        data, (cost,) = codec.compress([page], model, coding="adaptive", max_batch=16, with_costs=True)
    np.testing.assert_array_equal(codec.decompress(data, model)[0][1], page)
    assert abs(8 * codec.payload_bytes(data) - cost) < 0.02 * cost + 64


def test_the_encoder_keeps_the_cheaper_coding_of_each_batch(tiny_model_path, monkeypatch) -> None:
    """On a page, coder 3's archive is no larger than with every batch forced either way."""
    model = codec.coding_model(str(tiny_model_path))
    page = (np.random.default_rng(10).random((100, 90)) < 0.1).astype(np.uint8)
    chosen = codec.payload_bytes(codec.compress([page], model, coding="adaptive", max_batch=16))
    for with_darn in (True, False):
        with monkeypatch.context() as patch:
            force_darn(patch, with_darn)
            either = codec.payload_bytes(codec.compress([page], model, coding="adaptive", max_batch=16))
        assert chosen <= either + 4


@pytest.mark.parametrize("coding, coder", [("adaptive", container.CODER_RASTER), ("strokes", container.CODER_STROKES)])
def test_damaged_payload_with_valid_checksums_never_gives_a_wrong_page(tiny_model_path, damage_never_gives_a_wrong_image,
                                                                      coding, coder) -> None:
    """Coders 3 and 7 pop pixels in their own kernel: a payload changed behind valid checksums
    still ends in a FormatError (or, if the change alters nothing decoded, the right page), never
    a crash."""
    model = codec.coding_model(str(tiny_model_path))
    page = (np.random.default_rng(11).random((80, 80)) < 0.1).astype(np.uint8)
    data = codec.compress([page], model, coding=coding)
    assert container.unpack(data)[0].coder == coder
    damage_never_gives_a_wrong_image(data, model, page, seed=12, flips=12)
