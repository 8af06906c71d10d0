"""compress / decompress: images <-> one .darn archive, every tile chained through one ANS stack.

This module and darncodec.coding are the coding path: only the integer coding tables of a model
file are used here, so both sides compute identical probabilities (docs/coding.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import constriction
import numpy as np

from darncodec.coding import container, stored
from darncodec.coding.ans.streams import pop_flags, push_flags
from darncodec.coding.bitsback import BitsBackCodec
from darncodec.coding.container import (CODER_PARTICLES, CODER_RASTER, CODER_STATIC, CODER_STORED, CODER_STROKES,
                                        CODER_SYMBOLS, CODER_TILED, CODINGS, MAX_PARTICLES)
from darncodec.coding.groups import pop_group, push_group
from darncodec.coding.limits import DEFAULT_LIMITS, Limits
from darncodec.coding.mixing.raster import RasterContexts
from darncodec.coding.mixing.tiled import AdaptiveContexts
from darncodec.coding.network.integer_model import IntegerDARN
from darncodec.coding.network.quantize import check_coding_tables
from darncodec.coding.particles import DEFAULT_PARTICLES, decode_tiles, encode_tiles
from darncodec.coding.tiling import (
    GROUP_TILES,
    adaptive_groups,
    adaptive_schedule,
    batch_schedule,
    from_tiles,
    tile_masks,
    to_tiles,
)
from darncodec.coding.symbols.components import Symbols
from darncodec.coding.symbols.dictionary import SheetCoder, choose_symbols
from darncodec.errors import FormatError, InputError, ModelError
from darncodec.zoo import DEFAULT_GLYPH_MODEL, ModelFile, entries, find_by_hash, load_model_file

Progress = Callable[[int, int], None]   # progress(tiles done, tiles in all), as the coding goes

MAX_BATCH = 2048


@dataclass(frozen=True)
class CodingModel:
    """A model file ready for coding: its integer network and identity."""

    file: ModelFile
    network: IntegerDARN

    @property
    def tile(self) -> tuple[int, int]:
        return self.file.config.height, self.file.config.width

    @property
    def can_adapt(self) -> bool:
        """Page-adaptive mixing needs a locally autoregressive visible layer (its neighbourhood)."""
        return self.file.config.visible == "local"

    def adaptive_contexts(self, coder: int) -> AdaptiveContexts | RasterContexts | None:
        """The count state of page-adaptive mixing for ``coder`` (None for static coding)."""
        if coder == CODER_TILED:
            return AdaptiveContexts(*self.tile, self.network.prob_table)
        if coder in (CODER_RASTER, CODER_SYMBOLS, CODER_STROKES):
            return RasterContexts(*self.tile, self.network.prob_table, refine=coder == CODER_SYMBOLS,
                                  stroke_models=coder == CODER_STROKES)
        return None


def coding_model(model: str | ModelFile | None = None, device: str = "cpu") -> CodingModel:
    file = model if isinstance(model, ModelFile) else load_model_file(model)
    check_coding_tables(file.tensors, file.source)
    try:
        return CodingModel(file, IntegerDARN(file.config, file.tensors, device))
    except ModelError as err:   # weights that cannot be coded exactly: name the file
        raise ModelError(f"{file.source}: {err}") from None


def _check_image(bits: np.ndarray, name: str) -> np.ndarray:
    bits = np.asarray(bits)
    if bits.ndim != 2 or min(bits.shape) < 1:
        raise InputError(f"{name}: expected a non-empty 2-D image, got shape {bits.shape}")
    if bits.dtype.kind in "biu":   # booleans and integers: their range says it, without a copy of the image
        binary = bits.min() >= 0 and bits.max() <= 1
    else:
        binary = bool(np.isin(bits, (0, 1)).all())
    if not binary:
        raise InputError(f"{name}: pixels must be 0 or 1")
    return bits.astype(np.uint8, copy=False)


def compress(images: Sequence[np.ndarray], model: str | ModelFile | CodingModel | None = None,
             names: Sequence[str] | None = None, device: str = "cpu", max_batch: int = MAX_BATCH,
             with_costs: bool = False, coding: str | None = None, particles: int | None = None,
             glyph_model: str | ModelFile | CodingModel | None = None, progress: Progress | None = None,
             limits: Limits = DEFAULT_LIMITS):
    """One archive for ``images`` (2-D 0/1 arrays, 1 = ink), chained through one AnsCoder.

    ``coding`` (container.CODINGS): "static" codes the DARN's probabilities; "particles" too, with up
    to ``particles`` importance samples of h per tile (Monte Carlo bits-back, coding.particles;
    DEFAULT_PARTICLES by default); "adaptive" sharpens them by page-adaptive mixing in page raster
    order (coding.mixing.raster); "symbols" adds the symbol stage on pages (coding.symbols: the
    page's recurring shapes coded once, placed, and the page coded with the predicted page as
    context); "adaptive-tiles" is the earlier mixing tile position by tile position
    (coding.mixing.tiled). By default "symbols" where the model allows it (a local visible layer)
    and some image has at least GROUP_TILES tiles ("adaptive" where no page has a dictionary), else
    "particles" ("static" with one particle). "stored" (coder 6) writes the raw bits, no model; the
    default (None) falls back to it where the coded payload would be larger than the raw bits.
    ``limits``: what one archive may hold (checked before coding).
    ``with_costs`` also returns each image's coded cost in bits: the sum over its tiles of
    -log2 p(x|h) - log2 p(h) + log2 q(h|x) for the h actually used (p(x|h) after mixing), plus a
    page's dictionary and placements. ``glyph_model`` codes the dictionaries (dictionary_model).
    ``progress(done, total)`` is called with tile counts as the coding goes (after each static batch,
    after each group of adaptive coding)."""
    coder_model = model if isinstance(model, CodingModel) else coding_model(model, device)
    names = list(names) if names is not None else [f"image{i}" for i in range(len(images))]
    if len(names) != len(images):
        raise InputError(f"{len(names)} names for {len(images)} images")
    images = [_check_image(bits, name) for bits, name in zip(images, names)]
    limits.check_count(len(images))
    if coding == CODINGS[CODER_STORED]:
        limits.check_archive([bits.shape for bits in images], stored.STORED_TILE)
        return _stored_archive(images, names, with_costs)
    coder_model = model if isinstance(model, CodingModel) else coding_model(model, device)
    tile_h, tile_w = coder_model.tile
    limits.check_archive([bits.shape for bits in images], (tile_h, tile_w))
    cut = [to_tiles(bits, tile_h, tile_w, np.uint8) for bits in images]   # 1 byte a pixel; int64 per batch
    tiles_per_image = [len(c[0]) for c in cut]
    coder_id, particles = _coder_id(coding, coder_model, tiles_per_image, particles)
    symbols = {}
    if coder_id == CODER_SYMBOLS:   # each page's dictionary; by default, coder 7 where no page has one
        symbols = {i: choose_symbols(bits, coder_model.network.prob_table) for i, bits in enumerate(images)
                   if tiles_per_image[i] >= GROUP_TILES}
        if coding is None and not any(found.shapes for found in symbols.values()):
            coder_id = CODER_STROKES
    tiles = np.concatenate([c[0] for c in cut]) if cut else np.zeros((0, tile_h * tile_w), np.uint8)
    masks = np.concatenate([c[1] for c in cut]) if cut else np.zeros((0, tile_h * tile_w), bool)
    del cut   # its tiles live on in tiles and masks: held once (9 bytes per coded pixel), not twice
    coder = constriction.stream.stack.AnsCoder()
    codec = BitsBackCodec(coder_model.network)
    glyphs = dictionary_model(coder_model, glyph_model, device) if coder_id == CODER_SYMBOLS else None
    if coder_id == CODER_STATIC:
        costs = np.zeros(len(tiles))
        for start, stop in batch_schedule(len(tiles), max_batch):
            costs[start:stop] = codec.push(coder, tiles[start:stop].astype(np.int64), masks[start:stop], start > 0)
            if progress:
                progress(stop, len(tiles))
    elif coder_id == CODER_PARTICLES:
        costs = encode_tiles(coder, coder_model.network, tiles.astype(np.int64), masks, particles, max_batch)
    else:
        coder, costs = _push_adaptive(coder, codec, coder_model, coder_id, images, tiles, masks, tiles_per_image,
                                      max_batch, glyphs, symbols, progress)
    words = coder.get_compressed()
    if coding is None and len(words) > stored.payload_words([bits.shape for bits in images]):
        return _stored_archive(images, names, with_costs)   # never more than the raw bits (coder 6)
    header = container.Header(coder_model.file.hash, (tile_h, tile_w), max_batch,
                              [container.ImageEntry(name, *bits.shape) for name, bits in zip(names, images)],
                              container.pixel_crc(images), coder_id,
                              glyphs.file.hash if glyphs else "", particles)
    data = container.pack(header, words)
    if with_costs:
        return data, [float(part.sum()) for part in np.split(costs, np.cumsum(tiles_per_image)[:-1])]
    return data


def _group_batches(schedule: list[tuple[int, int, int]]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """(group, its first tile, its batches relative to that tile) of an adaptive schedule."""
    out = []
    for group, batches in itertools.groupby(schedule, key=lambda batch: batch[2]):
        batches = list(batches)
        first = batches[0][0]
        out.append((group, first, [(start - first, stop - first) for start, stop, _ in batches]))
    return out


def _push_adaptive(coder, codec: BitsBackCodec, model: CodingModel, coder_id: int, images: list[np.ndarray],
                   tiles: np.ndarray, masks: np.ndarray, tiles_per_image: list[int], max_batch: int,
                   glyphs: CodingModel | None, symbols: dict[int, Symbols], progress: Progress | None):
    """Coders 2-4: every group of images through its count state (coding.groups), with the flags
    (coders 2 and 3: all at the end; coder 4: each group's after it, then a page's ``symbols``)."""
    contexts = model.adaptive_contexts(coder_id)
    groups = adaptive_groups(tiles_per_image)
    costs = np.zeros(len(tiles))
    all_flags, all_latents = [], []
    sheet_coder = SheetCoder(glyphs.network, model.network.prob_table, max_batch) if glyphs else None
    for group, first, batches in _group_batches(adaptive_schedule(tiles_per_image, max_batch)):
        members = groups[group]
        page = len(members) == 1
        contexts.enter_group(group, [images[i].shape for i in members], 0)
        found = symbols.get(members[0]) if sheet_coder and page else None
        if found is not None:
            contexts.page.draw_prediction(found.shapes, found.placements)
        stop = first + sum(tiles_per_image[i] for i in members)
        coder, costs[first:stop], flags, latents = push_group(
            coder, codec, contexts, tiles[first:stop], masks[first:stop], batches, page, first == 0,
            choose_darn=coder_id != CODER_TILED)
        if progress:
            progress(stop, len(tiles))
        if coder_id != CODER_SYMBOLS:
            all_flags += flags
            all_latents += latents
            continue
        push_flags(coder, flags + latents)
        costs[first] += 2 * len(flags)
        if found is not None:
            coder, side_cost = sheet_coder.push(coder, found)
            costs[first] += side_cost
    if coder_id in (CODER_RASTER, CODER_STROKES):
        push_flags(coder, all_flags + all_latents)
    elif coder_id == CODER_TILED:
        push_flags(coder, all_flags)
    return coder, costs


def dictionary_model(page: CodingModel, glyph_model: str | ModelFile | CodingModel | None = None,
                     device: str = "cpu") -> CodingModel:
    """The model that codes coder 4's dictionary sheets: ``glyph_model`` if given, else the embedded
    glyph model (zoo.DEFAULT_GLYPH_MODEL) if there is one, else the page model itself."""
    if glyph_model is None:
        if DEFAULT_GLYPH_MODEL not in {entry.name for entry in entries()}:
            return page
        glyph_model = DEFAULT_GLYPH_MODEL
    chosen = glyph_model if isinstance(glyph_model, CodingModel) else coding_model(glyph_model, device)
    if not chosen.can_adapt:
        raise ModelError(f"{chosen.file.source}: a glyph model needs a local visible layer")
    return chosen


def _stored_archive(images: list[np.ndarray], names: list[str], with_costs: bool):
    """Coder 6: the raw bits, no model (coding.stored); each image costs its pixels in bits."""
    header = container.Header(stored.STORED_HASH, stored.STORED_TILE, stored.STORED_BATCH,
                              [container.ImageEntry(name, *bits.shape) for name, bits in zip(names, images)],
                              container.pixel_crc(images), CODER_STORED)
    data = container.pack(header, stored.pack(images))
    return (data, [float(bits.size) for bits in images]) if with_costs else data


def _coder_id(coding: str | None, model: CodingModel, tiles_per_image: list[int],
              particles: int | None) -> tuple[int, int]:
    """(coder id, S) for a coding name and particle count (S = 1 but for coder 5)."""
    if coding is None:  # adaptive mixing pays on pages; on small images (digits) it costs time and gains little
        coding = "symbols" if model.can_adapt and max(tiles_per_image, default=0) >= GROUP_TILES else \
            "particles" if (particles or DEFAULT_PARTICLES) > 1 else "static"
    ids = {name: coder for coder, name in CODINGS.items()}
    if coding not in ids:
        raise InputError(f"unknown coding {coding!r} (choose from {', '.join(ids)})")
    if ids[coding] not in (CODER_STATIC, CODER_PARTICLES) and not model.can_adapt:
        raise ModelError(f"{model.file.source}: adaptive mixing needs a model with a local visible layer")
    if ids[coding] != CODER_PARTICLES:
        if particles not in (None, 1):
            raise InputError(f"{coding} coding has one particle per tile (particles: the 'particles' coding)")
        return ids[coding], 1
    particles = DEFAULT_PARTICLES if particles is None else particles
    if not 1 <= particles <= MAX_PARTICLES:
        raise InputError(f"particles must be 1 to {MAX_PARTICLES}, not {particles}")
    return CODER_PARTICLES, particles


def read_header(data: bytes, limits: Limits = DEFAULT_LIMITS) -> container.Header:
    return container.unpack(data, limits)[0]


def model_for(header: container.Header, model, device: str) -> CodingModel:
    if isinstance(model, CodingModel):
        chosen = model
    elif model is None:
        found = find_by_hash(header.model_hash)
        if found is None:
            raise FormatError(f"made with model {header.model_hash[:16]}..., which is not embedded "
                              "here; pass --model with that model file")
        chosen = coding_model(found, device)
    else:
        chosen = coding_model(model, device)
    if chosen.file.hash != header.model_hash:
        raise FormatError(f"made with model {header.model_hash[:16]}..., not with "
                          f"{chosen.file.source} ({chosen.file.hash[:16]}...)")
    if chosen.tile != header.tile:
        raise FormatError("tile size in the header does not match the model")
    return chosen


def _dictionary_model_for(header: container.Header, page: CodingModel, glyph_model, device: str) -> CodingModel:
    if header.dictionary_hash == page.file.hash:
        return page
    if glyph_model is None:
        found = find_by_hash(header.dictionary_hash)
        if found is None:
            raise FormatError(f"its dictionaries were made with model {header.dictionary_hash[:16]}..., which is "
                              "not embedded here; pass --glyph-model with that model file")
        glyph_model = found
    chosen = glyph_model if isinstance(glyph_model, CodingModel) else coding_model(glyph_model, device)
    if chosen.file.hash != header.dictionary_hash:
        raise FormatError(f"its dictionaries were made with model {header.dictionary_hash[:16]}..., not with "
                          f"{chosen.file.source} ({chosen.file.hash[:16]}...)")
    if not chosen.can_adapt:
        raise FormatError("the dictionary model has no local visible layer")
    return chosen


def decompress(data: bytes, model: str | ModelFile | CodingModel | None = None,
               device: str = "cpu", glyph_model: str | ModelFile | CodingModel | None = None,
               progress: Progress | None = None, limits: Limits = DEFAULT_LIMITS) -> list[tuple[str, np.ndarray]]:
    """(name, image) for every image of an archive; any damage is a FormatError, never a wrong image.
    An archive that claims more than ``limits`` is refused (LimitError) before anything is allocated.
    ``progress(done, total)`` is called with tile counts as the decoding goes."""
    header, words = container.unpack(data, limits)
    if header.coder == CODER_STORED:
        return _checked(header, stored.unpack(words, [(i.height, i.width) for i in header.images]))
    chosen = model_for(header, model, device)
    glyphs = _dictionary_model_for(header, chosen, glyph_model, device) if header.coder == CODER_SYMBOLS else None
    tile_h, tile_w = header.tile
    masks_per_image = [tile_masks(i.height, i.width, tile_h, tile_w) for i in header.images]
    masks = np.concatenate(masks_per_image) if masks_per_image else np.zeros((0, tile_h * tile_w), bool)
    tiles = np.zeros(masks.shape, np.uint8)
    codec = BitsBackCodec(chosen.network)
    if header.adaptive and not chosen.can_adapt:
        raise FormatError("adaptive mixing in the header, but the model has no local visible layer")
    tiles_per_image = [len(m) for m in masks_per_image]
    shapes = [(i.height, i.width) for i in header.images]
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        if header.coder == CODER_STATIC:
            for start, stop in reversed(batch_schedule(len(tiles), header.max_batch)):
                if coder.is_empty():  # the payload has run out: every symbol left pops as 0 (docs/format.md)
                    break
                tiles[start:stop], coder = codec.pop(coder, masks[start:stop], start > 0)
                if progress:
                    progress(len(tiles) - start, len(tiles))
        elif header.coder == CODER_PARTICLES:
            tiles[:] = decode_tiles(coder, chosen.network, masks, header.particles, header.max_batch)
        else:
            coder = _pop_adaptive(coder, codec, chosen, header, shapes, tiles, masks, tiles_per_image, glyphs,
                                  progress)
    except (ValueError, RuntimeError) as err:  # constriction refuses the payload
        raise FormatError(f"damaged .darn payload ({err})") from None
    if not coder.is_empty():  # decoding undoes every push, back to the empty coder it started from
        raise FormatError("damaged .darn payload (data left over after decoding)")
    bounds = np.cumsum([0] + [len(mask) for mask in masks_per_image])
    images = [from_tiles(tiles[start:stop], entry.height, entry.width, tile_h, tile_w)
              for entry, start, stop in zip(header.images, bounds[:-1], bounds[1:])]
    return _checked(header, images)


def _checked(header: container.Header, images: list[np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """(name, image) pairs once the decoded pixels pass the header's pixel CRC."""
    if container.pixel_crc(images) != header.pixel_crc:
        raise FormatError("decoded pixels fail their checksum (damaged file or wrong model)")
    return [(entry.name, bits) for entry, bits in zip(header.images, images)]


def _pop_adaptive(coder, codec: BitsBackCodec, model: CodingModel, header: container.Header,
                  shapes: list[tuple[int, int]], tiles: np.ndarray, masks: np.ndarray, tiles_per_image: list[int],
                  glyphs: CodingModel | None, progress: Progress | None):
    """Undo _push_adaptive: groups last to first, each after its flags (and a page's symbols)."""
    contexts = model.adaptive_contexts(header.coder)
    groups = adaptive_groups(tiles_per_image)
    plan = _group_batches(adaptive_schedule(tiles_per_image, header.max_batch))
    batches = sum(len(group_batches) for _, _, group_batches in plan)
    if header.coder in (CODER_RASTER, CODER_STROKES):
        flags = pop_flags(coder, 2 * batches)
        flags, latents = flags[:batches], flags[batches:]
    elif header.coder == CODER_TILED:
        flags, latents = pop_flags(coder, batches), [True] * batches
    sheet_coder = SheetCoder(glyphs.network, model.network.prob_table, header.max_batch) if glyphs else None
    done = batches
    for group, first, group_batches in reversed(plan):
        if coder.is_empty():  # the payload has run out: every symbol left pops as 0 (docs/format.md)
            break
        members = groups[group]
        page = len(members) == 1
        stop = first + sum(tiles_per_image[i] for i in members)
        symbols = None
        if sheet_coder and page and tiles_per_image[members[0]] >= GROUP_TILES:
            symbols, coder = sheet_coder.pop(coder, shapes[members[0]])
        if sheet_coder:
            group_flags = pop_flags(coder, 2 * len(group_batches))
            group_flags, group_latents = group_flags[:len(group_batches)], group_flags[len(group_batches):]
        else:
            group_flags = flags[done - len(group_batches):done]
            group_latents = latents[done - len(group_batches):done]
        done -= len(group_batches)
        contexts.enter_group(group, [shapes[i] for i in members], 0)
        if symbols is not None:
            contexts.page.draw_prediction(symbols.shapes, symbols.placements)
        tiles[first:stop], coder = pop_group(coder, codec, contexts, masks[first:stop], group_batches, group_flags,
                                             group_latents)
        if progress:
            progress(len(tiles) - first, len(tiles))
    return coder


def payload_bytes(data: bytes) -> int:
    """Bytes of the ANS payload alone, without the container."""
    return len(data) - container.header_size(data)


def image_costs(data: bytes, model: str | ModelFile | CodingModel | None = None, device: str = "cpu",
                glyph_model: str | ModelFile | CodingModel | None = None,
                limits: Limits = DEFAULT_LIMITS) -> list[float]:
    """Each image's share of an archive, in bits, found by decoding it and coding it again
    (coding is deterministic, so this retraces exactly what the encoder did)."""
    header = read_header(data, limits)
    if not header.needs_model:  # stored: each image costs its pixels (decoded all the same, to find damage)
        decompress(data, limits=limits)
        return [float(i.height * i.width) for i in header.images]
    chosen = model_for(header, model, device)
    glyphs = _dictionary_model_for(header, chosen, glyph_model, device) if header.coder == CODER_SYMBOLS else None
    names, images = zip(*decompress(data, chosen, device, glyphs, limits=limits)) if header.images else ((), ())
    return compress(list(images), chosen, list(names), device, header.max_batch, with_costs=True,
                    coding=header.coding, particles=header.particles, glyph_model=glyphs, limits=limits)[1]
