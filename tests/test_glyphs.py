"""The symbol stage's data (issue 11): rendered decision pages, the decision set, the glyph corpus."""

from __future__ import annotations

import numpy as np
import pytest

from darncodec.corpora import data_root
from darncodec.corpora.documents import font_files
from darncodec.corpora.glyphs import components, distinct, font_glyphs, glyph_tiles, glyph_tiles_of
from darncodec.errors import InputError
from darncodec.imageio import write_bilevel

needs_fonts = pytest.mark.skipif(not font_files(), reason="no fonts under /usr/share/fonts")


def _has_data() -> bool:
    try:
        return (data_root() / "bilevel_docs").is_dir()
    except InputError:
        return False


needs_data = pytest.mark.skipif(not _has_data(), reason="shared data not available")


def synthetic_page() -> np.ndarray:
    """A ring with a dot inside it, two pixels touching only at a corner, and a bar."""
    page = np.zeros((20, 30), np.uint8)
    page[2:7, 2:7] = 1
    page[3:6, 3:6] = 0
    page[4, 4] = 1                      # inside the ring's box, but its own component
    page[10, 10] = page[11, 11] = 1     # 8-connected: one component
    page[15, 5:25] = 1
    return page


# ------------------------------------------------------------------------------ the glyph cutter


def test_components_are_8_connected_cropped_and_only_their_own_pixels():
    ring, dot, diagonal, bar = components(synthetic_page())
    expected_ring = np.ones((5, 5), np.uint8)
    expected_ring[1:4, 1:4] = 0
    assert np.array_equal(ring, expected_ring)          # the dot inside is not part of the ring
    assert np.array_equal(dot, [[1]])
    assert np.array_equal(diagonal, np.eye(2, dtype=np.uint8))
    assert bar.shape == (1, 20) and bar.all()
    assert components(np.zeros((4, 4), np.uint8)) == []


def test_distinct_keeps_first_of_each_shape_and_tells_sizes_apart():
    a, b = np.ones((2, 2), np.uint8), np.ones((1, 4), np.uint8)
    kept = distinct([a, b, a.copy(), b, np.ones((4, 1), np.uint8)])
    assert [g.shape for g in kept] == [(2, 2), (1, 4), (4, 1)]


def test_glyphs_go_top_left_big_ones_in_pieces_huge_ones_skipped():
    small = np.ones((3, 5), np.uint8)
    tall = np.zeros((40, 6), np.uint8)
    tall[:, 0] = 1
    tall[36:, 5] = 1
    hollow = np.zeros((70, 4), np.uint8)
    hollow[0, :] = hollow[69, :] = 1                    # its middle piece is blank
    huge = np.ones((10, 200), np.uint8)
    tiles = glyph_tiles_of([small, tall, hollow, huge], 32, 32, max_side=128)
    assert tiles.shape == (1 + 2 + 2, 32, 32)
    assert tiles[0, :3, :5].all() and tiles[0].sum() == 15
    assert np.array_equal(tiles[1][:, :6], tall[:32]) and not tiles[1][:, 6:].any()
    assert np.array_equal(tiles[2][:8, :6], tall[32:]) and tiles[2][8:].sum() == 0
    assert tiles[3][0, :4].all() and tiles[4][69 - 64, :4].all()


def test_glyph_tiles_of_images_are_distinct_and_seeded(tmp_path):
    page = np.tile(synthetic_page(), (2, 3))            # each shape six times
    write_bilevel(tmp_path / "page.png", page)
    tiles = glyph_tiles(32, 32, [str(tmp_path)])
    assert len(tiles) == 4
    assert len({t.tobytes() for t in tiles}) == 4
    assert np.array_equal(glyph_tiles(32, 32, [str(tmp_path)], max_tiles=2, seed=3),
                          glyph_tiles(32, 32, [str(tmp_path)], max_tiles=2, seed=3))


def test_training_corpus_of_glyphs_defaults_to_32x32(tmp_path):
    from darncodec.training.datasets import load_training_corpus

    rng = np.random.default_rng(0)
    page = np.zeros((200, 200), np.uint8)
    for y, x in rng.integers(0, 190, (60, 2)):
        page[y:y + rng.integers(2, 9), x:x + rng.integers(2, 9)] = 1
    write_bilevel(tmp_path / "page.png", page)
    train, valid, tile = load_training_corpus(f"glyphs:{tmp_path / 'page.png'}")
    assert tile == (32, 32) and train.shape[1] == valid.shape[1] == 1024 and len(valid) >= 1
    with pytest.raises(InputError, match="after 'glyphs:'"):
        load_training_corpus("glyphs:")
    write_bilevel(tmp_path / "blank.png", np.zeros((50, 50), np.uint8))
    with pytest.raises(InputError, match="0 distinct glyph"):
        load_training_corpus(f"glyphs:{tmp_path / 'blank.png'}")


@needs_fonts
def test_font_glyphs_split_into_components_and_skip_missing_characters():
    serif = [p for p in font_files() if p.stem == "DejaVuSerif"]
    if not serif:
        pytest.skip("DejaVuSerif not installed")
    glyphs = list(font_glyphs(serif, [28], characters="i\u4e00", phases=[0.0]))
    assert len(glyphs) == 2                             # the dot and the stem; no CJK glyph in DejaVu Serif
    assert all(g.any() for g in glyphs) and glyphs[0].shape[0] < glyphs[1].shape[0]


# --------------------------------------------------------------------------- the decision set


@pytest.fixture(scope="module")
def pages():
    from darncodec.corpora.rendered import decision_pages

    return decision_pages()


@needs_fonts
def test_decision_pages_are_a4_bilevel_text_at_three_resolutions(pages):
    from darncodec.corpora.rendered import A4_PIXELS, DECISION_SPECS

    assert [name for name, _ in pages] == [spec.name for spec in DECISION_SPECS]
    assert sorted(spec.dpi for spec in DECISION_SPECS) == [200] * 4 + [300] * 3 + [600]
    for spec, (_, bits) in zip(DECISION_SPECS, pages):
        assert bits.shape == A4_PIXELS[spec.dpi] and bits.dtype == np.uint8
        assert set(np.unique(bits)) == {0, 1} and 0.02 < bits.mean() < 0.15


@needs_fonts
def test_decision_pages_are_seeded_and_repeat_glyph_shapes_exactly(pages):
    from dataclasses import replace

    from darncodec.corpora.rendered import DECISION_SPECS, render

    spec = DECISION_SPECS[0]
    assert np.array_equal(render(spec), pages[0][1])
    assert not np.array_equal(render(replace(spec, seed=spec.seed + 1)), pages[0][1])
    found = components(pages[0][1])
    assert len(found) > 1000 and len(distinct(found)) < 0.3 * len(found)   # crisp: no noise per copy


@needs_data
def test_the_scans_are_the_non_test_images():
    from darncodec.corpora.documents import scanned_files

    names = [f"{path.parent.name}/{path.name}" for path in scanned_files()]
    assert "viewfax/viewfax.tif" in names and "leptonica/feyn.tif" in names and len(names) > 50
    assert not any("ccitt" in name for name in names)


def test_decision_scans_are_named_by_folder_and_file(tmp_path, monkeypatch):
    from darncodec.corpora import decision

    (tmp_path / "scans").mkdir()
    write_bilevel(tmp_path / "scans" / "page.png", synthetic_page())
    monkeypatch.setattr(decision, "scanned_files", lambda: [tmp_path / "scans" / "page.png"])
    [(name, bits)] = decision.decision_scans()
    assert name == "scans/page.png" and np.array_equal(bits, synthetic_page())
