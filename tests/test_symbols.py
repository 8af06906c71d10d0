"""The symbol stage (coder id 4): components, classes, placements, the sheet, the predicted page."""

from __future__ import annotations

import contextlib

import constriction
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from darncodec import codec
from darncodec.coding import container
from darncodec.coding.mixing.raster import COVERED, PREDICTED_INK, R, PageCanvas
from darncodec.coding.network.fixed_point import probability_table
from darncodec.coding.symbols import components, sheet
from darncodec.coding.symbols.components import find_symbols, reading_order
from darncodec.coding.symbols.dictionary import choose_symbols
from darncodec.coding.symbols.placements import decode_placements, decode_sizes, encode_placements, encode_sizes

PROB_TABLE = probability_table()


@contextlib.contextmanager
def every_repeat_in_the_dictionary():
    """Make every class that recurs pay (the economics of components.select_symbols aside), so that
    small test pages exercise the dictionary, the placements and the refinement."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(components, "MIN_GAIN_BITS", 0)
        patch.setattr(components, "EDGE_BITS", 100.0)
        yield


def random_glyph(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A connected random shape touching all four sides of its height x width box (a thick random
    walk from the top-left to the bottom-right corner)."""
    glyph = np.zeros((height, width), np.uint8)
    y, x = 0, 0
    glyph[y, x] = 1
    while (y, x) != (height - 1, width - 1):
        if rng.random() < 0.5 and y < height - 1 or x == width - 1:
            y += 1
        else:
            x += 1
        glyph[y, x] = 1
        glyph[y, max(x - 1, 0)] = glyph[max(y - 1, 0), x] = 1   # a stroke of some width, as letters have
        if rng.random() < 0.4:
            glyph[y, max(x - 2, 0)] = 1
    return glyph


def glyph_page(seed: int, height: int = 120, width: int = 160, classes: int = 5,
               size: tuple[int, int] = (16, 12)) -> tuple[np.ndarray, list[np.ndarray]]:
    """A page of text-like lines of repeated random glyphs (2-pixel gaps: no two touch)."""
    rng = np.random.default_rng(seed)
    shapes = [random_glyph(rng, int(rng.integers(size[0] // 2, size[0] + 1)), int(rng.integers(size[1] // 2, size[1] + 1)))
              for _ in range(classes)]
    page = np.zeros((height, width), np.uint8)
    line_height = size[0] + 3
    for top in range(2, height - line_height, line_height):
        left = 2
        while True:
            shape = shapes[int(rng.integers(classes))]
            if left + shape.shape[1] + 2 > width:
                break
            bottom = top + size[0]
            page[bottom - shape.shape[0]:bottom, left:left + shape.shape[1]] = shape
            left += shape.shape[1] + int(rng.integers(2, 6))
    return page, shapes


def test_reading_order_is_lines_top_to_bottom_each_left_to_right():
    boxes = np.array([(20, 50, 30, 60), (0, 40, 10, 50), (2, 0, 10, 8), (21, 0, 30, 9), (1, 20, 11, 30)])
    assert list(reading_order(boxes)) == [2, 4, 1, 3, 0]
    assert list(reading_order(np.zeros((0, 4), np.int64))) == []


def test_find_symbols_groups_identical_components_and_places_them_exactly():
    page, _ = glyph_page(0, height=300, width=360)
    symbols = find_symbols(page)
    assert len(symbols.shapes) >= 2 and len(symbols.placements) > 20
    redrawn = np.zeros_like(page)
    for c, top, left in symbols.placements:
        shape = symbols.shapes[c]
        assert (redrawn[top:top + shape.shape[0], left:left + shape.shape[1]] & shape).sum() == 0   # no overlap
        redrawn[top:top + shape.shape[0], left:left + shape.shape[1]] |= shape
    assert ((redrawn == 1) <= (page == 1)).all()          # every placed pixel is ink of the page
    assert redrawn.sum() > 0.9 * page.sum()                # and the repeated glyphs are most of the ink
    first = [int(np.argmax(symbols.placements[:, 0] == c)) for c in range(len(symbols.shapes))]
    assert first == sorted(first)                          # classes numbered by first placement


def test_a_class_that_does_not_pay_stays_with_the_raster_coder():
    page = np.zeros((40, 60), np.uint8)
    for left in (2, 12, 22):
        page[5:7, left:left + 2] = 1                       # three 2x2 specks: placing them costs more
    assert len(find_symbols(page).shapes) == 0


def _round_trip(sizes: np.ndarray, placements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coder = constriction.stream.stack.AnsCoder()
    encode_placements(sizes, placements, PROB_TABLE).push(coder)
    encode_sizes(sizes).push(coder)
    decoded_sizes, coder = decode_sizes(coder)
    decoded, coder = decode_placements(coder, decoded_sizes, PROB_TABLE, 10**6)
    assert coder.is_empty()
    return decoded_sizes, decoded


def test_placements_of_a_page_round_trip_and_cost_few_bits():
    page, _ = glyph_page(1, height=300, width=300)
    symbols = find_symbols(page, placement_bits=0)   # every repeated class
    sizes, placements = _round_trip(symbols.sizes, symbols.placements)
    np.testing.assert_array_equal(sizes, symbols.sizes)
    np.testing.assert_array_equal(placements, symbols.placements)
    recorded = encode_placements(symbols.sizes, symbols.placements, PROB_TABLE)
    assert recorded.cost() < 8 * len(symbols.placements)   # 5 classes, regular gaps: under a byte each


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_any_placements_round_trip(data):
    """Placements need not look like text: any positions, any order, any classes (each class
    placed at least once, first placements in class order) decode to themselves."""
    classes = data.draw(st.integers(1, 6))
    sizes = np.array(data.draw(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)),
                                        min_size=classes, max_size=classes)), np.int64)
    extra = data.draw(st.lists(st.tuples(st.integers(0, classes - 1), st.integers(0, 500), st.integers(0, 500)),
                               max_size=30))
    firsts = [(c, *data.draw(st.tuples(st.integers(0, 500), st.integers(0, 500)))) for c in range(classes)]
    rows = firsts + extra
    order = data.draw(st.permutations(range(len(rows))))
    rows = [rows[i] for i in order]
    seen, renumber = [], {}
    for c, _, _ in rows:   # classes are numbered in order of first placement
        if c not in renumber:
            renumber[c] = len(seen)
            seen.append(c)
    placements = np.array([(renumber[c], top, left) for c, top, left in rows], np.int64)
    sizes = sizes[seen]
    decoded_sizes, decoded = _round_trip(sizes, placements)
    np.testing.assert_array_equal(decoded_sizes, sizes)
    np.testing.assert_array_equal(decoded, placements)


def test_sheet_draws_and_cuts_the_dictionary():
    rng = np.random.default_rng(3)
    shapes = [random_glyph(rng, int(rng.integers(1, 40)), int(rng.integers(1, 90))) for _ in range(30)]
    image, mask = sheet.draw(shapes, 16, 16)
    assert image.shape[1] >= sheet.SHEET_TILES * 16 and image.shape[0] % 16 == 0
    assert mask.sum() == sum(s.size for s in shapes) and (image <= mask).all()
    sizes = np.array([s.shape for s in shapes])
    for original, back in zip(shapes, sheet.cut(image, sizes, 16, 16)):
        np.testing.assert_array_equal(original, back)


def test_predicted_page_draws_classes_and_covers_their_boxes():
    canvas = PageCanvas([(30, 40)], 8, 8)
    shape = np.array([[1, 0], [1, 1]], np.uint8)
    canvas.draw_prediction([shape], np.array([(0, 10, 20)]))
    predicted = canvas.predicted.reshape(-1, canvas.stride)
    cells = predicted[R + 10:R + 12, R + 20:R + 22]
    np.testing.assert_array_equal(cells & PREDICTED_INK, shape)
    assert (predicted[R + 8:R + 14, R + 18:R + 24] & COVERED).all()
    assert not (predicted[R + 7, R + 20] & COVERED) and not (predicted[R + 15, R + 20] & COVERED)


def test_coder_4_round_trips_and_beats_coder_3_on_repeated_glyphs(tiny_model_path):
    model = codec.coding_model(str(tiny_model_path))
    page, _ = glyph_page(2, height=240, width=300, classes=4, size=(24, 18))
    symbols_data, (cost,) = codec.compress([page], model, coding="symbols", max_batch=64, with_costs=True)
    assert container.unpack(symbols_data)[0].coder == container.CODER_SYMBOLS
    np.testing.assert_array_equal(codec.decompress(symbols_data, model)[0][1], page)
    raster_data = codec.compress([page], model, coding="adaptive", max_batch=64)
    assert codec.payload_bytes(symbols_data) < 0.8 * codec.payload_bytes(raster_data)
    assert abs(8 * codec.payload_bytes(symbols_data) - cost) < 0.02 * cost + 96


def test_a_page_without_a_dictionary_costs_what_coder_3_costs(tiny_model_path):
    """Where no class pays (a small page), the symbol stage adds only its empty sizes; by default
    such an archive is coder 7's (coder 3 with the stroke models)."""
    model = codec.coding_model(str(tiny_model_path))
    page, _ = glyph_page(2, height=160, width=200, classes=6)
    symbols_data = codec.compress([page], model, coding="symbols", max_batch=64)
    raster_data = codec.compress([page], model, coding="adaptive", max_batch=64)
    assert codec.payload_bytes(symbols_data) <= codec.payload_bytes(raster_data) + 4
    assert codec.compress([page], model, max_batch=64) == codec.compress([page], model, coding="strokes", max_batch=64)


def test_coder_4_archive_of_pages_and_small_images_round_trips(tiny_model_path):
    """Pages get the symbol stage (a dictionary each, or none), small images are coded as coder 3's."""
    model = codec.coding_model(str(tiny_model_path))
    pages = [glyph_page(seed, height=90, width=120)[0] for seed in (4, 5)]
    small = [(np.random.default_rng(6).random((10, 12)) < 0.2).astype(np.uint8) for _ in range(3)]
    blank = np.zeros((100, 100), np.uint8)
    images = [small[0], pages[0], blank, small[1], small[2], pages[1]]
    with every_repeat_in_the_dictionary():
        data = codec.compress(images, model, coding="symbols", max_batch=32)
    for original, (_, decoded) in zip(images, codec.decompress(data, model)):
        np.testing.assert_array_equal(decoded, original)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), classes=st.integers(1, 8))
def test_random_pages_of_repeated_random_glyphs_round_trip(tiny_model_path, seed, classes):
    model = codec.coding_model(str(tiny_model_path))
    page, _ = glyph_page(seed, height=72, width=96, classes=classes)
    rng = np.random.default_rng(seed)
    page[40:] ^= (rng.random(page[40:].shape) < 0.01).astype(np.uint8)   # noise below the first two lines:
    # near, not exact, repeats too (those two lines hold at least 9 glyphs of at most 8 classes: a repeat)
    with every_repeat_in_the_dictionary():
        assert len(choose_symbols(page, model.network.prob_table).shapes) > 0
        data = codec.compress([page], model, coding="symbols", max_batch=16)
    np.testing.assert_array_equal(codec.decompress(data, model)[0][1], page)


def test_damaged_coder_4_payload_never_gives_a_wrong_page(tiny_model_path, damage_never_gives_a_wrong_image):
    model = codec.coding_model(str(tiny_model_path))
    page, _ = glyph_page(7, height=80, width=100)
    with every_repeat_in_the_dictionary():
        data = codec.compress([page], model, coding="symbols", max_batch=16)
    assert container.unpack(data)[0].coder == container.CODER_SYMBOLS
    damage_never_gives_a_wrong_image(data, model, page, seed=8, flips=16)
