"""The stroke models of coder 7 (darncodec.coding.mixing.strokes): what their keys read, the
canvas margin they need, and pages coded with them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from darncodec import codec
from darncodec.coding import container
from darncodec.coding.mixing import raster, strokes


def canvas_of(image: np.ndarray) -> tuple[raster.PageCanvas, np.ndarray]:
    """A coder-7 canvas holding ``image``, and where the image's first row and column lie on it."""
    page = raster.PageCanvas([image.shape], 8, 8, strokes.MARGIN_ROWS, strokes.MARGIN_COLS)
    top, left = divmod(int(page.base[0]), page.stride)
    rows = page.canvas.size // page.stride
    grid = page.canvas[:rows * page.stride].reshape(rows, page.stride)   # a view of the flat canvas
    grid[top:top + image.shape[0], left:left + image.shape[1]] = image
    return page, np.array([top, left])


def keys_at(page: raster.PageCanvas, row: int, col: int) -> np.ndarray:
    keys = np.zeros(strokes.MODELS, np.int64)
    strokes.stroke_keys(page.canvas, row * page.stride + col, page.stride, keys)
    return keys


def test_keys_read_runs_columns_and_the_reference_line() -> None:
    """A vertical bar 3 wide and 5 high, a black run on the row above ahead of the pixel: the
    column runs, the distance to where the row above turns black, the current run."""
    image = np.zeros((20, 40), np.uint8)
    image[2:7, 10:13] = 1          # the bar: rows 2-6, columns 10-12
    image[9, 20:24] = 1            # the row above pixel (10, 17): black from column 20
    page, (top, left) = canvas_of(image)
    keys = keys_at(page, top + 7, left + 11)          # just below the bar's middle
    assert keys[strokes.COLUMNS] >> 4 == (5 * 16 + 5) * 16 + 5
    keys = keys_at(page, top + 10, left + 17)
    reference = keys[strokes.REF_LINE]
    near = reference >> (2 + 4 + 5)
    assert near == strokes._distance_bucket(17 - 20)  # the row above turns black 3 columns ahead
    assert (reference >> 2) & 15 == strokes._run_bucket(strokes.RUN_LIMIT)   # a white run longer than followed
    assert reference & 3 == 0                          # left and above are white


def test_canvas_margin_holds_every_read() -> None:
    """Coder 7's canvas gives every image the margin its stroke models read, white and inside the
    canvas, so the first and last pixels of a row read only white outside the image."""
    image = np.ones((12, 30), np.uint8)
    page, (top, left) = canvas_of(image)
    assert top >= strokes.MARGIN_ROWS and left >= strokes.MARGIN_COLS
    assert page.stride - left - image.shape[1] >= strokes.MARGIN_COLS
    blank, (blank_top, blank_left) = canvas_of(np.zeros((12, 30), np.uint8))
    white = keys_at(blank, blank_top + 5, blank_left + 10)
    first = keys_at(page, top, left)
    assert first[strokes.ROW_LEFT] == white[strokes.ROW_LEFT]   # nothing but margin to the left
    assert first[strokes.ABOVE] == white[strokes.ABOVE]         # nor above


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.floats(0.0, 0.08))
def test_random_pages_of_noisy_repeated_glyphs_round_trip(tiny_model_path, seed: int, classes: int,
                                                          noise: float) -> None:
    """Property: a page of a few random glyphs repeated at random places, each copy with its own
    edge noise, decodes exactly as coder 7, and its stroke keys only ever read inside the canvas
    (the margin holds every read: a read outside would fault or differ between the passes)."""
    model = codec.coding_model(str(tiny_model_path))
    rng = np.random.default_rng(seed)
    glyphs = [rng.random((rng.integers(3, 12), rng.integers(3, 10))) < 0.5 for _ in range(classes)]
    page = np.zeros((int(rng.integers(40, 90)), int(rng.integers(40, 110))), np.uint8)
    for _ in range(int(rng.integers(1, 25))):
        glyph = glyphs[rng.integers(classes)]
        y, x = rng.integers(0, page.shape[0] - glyph.shape[0]), rng.integers(0, page.shape[1] - glyph.shape[1])
        page[y:y + glyph.shape[0], x:x + glyph.shape[1]] |= glyph ^ (rng.random(glyph.shape) < noise)
    data = codec.compress([page], model, coding="strokes", max_batch=int(rng.integers(1, 64)))
    np.testing.assert_array_equal(codec.decompress(data, model)[0][1], page)


def test_pages_round_trip_as_coder_7(tiny_model_path) -> None:
    """Pages of repeated noisy glyphs and a few small images, coded with the stroke models, decode
    exactly, and the stroke models make the scan-like page smaller than coder 3 does."""
    model = codec.coding_model(str(tiny_model_path))
    rng = np.random.default_rng(21)
    glyphs = [rng.random((9, 7)) < 0.45 for _ in range(5)]
    page = np.zeros((120, 150), np.uint8)
    for y in range(4, 110, 14):
        for x in range(3, 140, 9):
            glyph = glyphs[rng.integers(len(glyphs))] ^ (rng.random((9, 7)) < 0.04)   # noisy edges, as a scan
            page[y:y + 9, x:x + 7] = glyph
    small = [(rng.random((12, 10)) < 0.3).astype(np.uint8) for _ in range(3)]
    for images in ([page], small):
        data = codec.compress(images, model, coding="strokes")
        assert codec.read_header(data).coder == container.CODER_STROKES
        for (_, back), image in zip(codec.decompress(data, model), images):
            np.testing.assert_array_equal(back, image)
    assert len(codec.compress([page], model, coding="strokes")) < len(codec.compress([page], model, coding="adaptive"))


def test_a_page_without_a_dictionary_is_coder_7_by_default(tiny_model_path) -> None:
    """The default coding of a page that keeps no dictionary is coder 7 (coder 3 before it)."""
    model = codec.coding_model(str(tiny_model_path))
    page = (np.random.default_rng(5).random((100, 90)) < 0.1).astype(np.uint8)
    assert codec.read_header(codec.compress([page], model)).coder == container.CODER_STROKES


def test_contexts_refuse_refinement_with_stroke_models(tiny_model_path) -> None:
    model = codec.coding_model(str(tiny_model_path))
    with pytest.raises(ValueError):
        raster.RasterContexts(*model.tile, model.network.prob_table, refine=True, stroke_models=True)
