"""compress / decompress: images <-> one .darn archive, every tile chained through one ANS stack.

This module and darncodec.coding are the coding path: only the integer coding tables of a model
file are used here, so both sides compute identical probabilities (docs/coding.md).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import constriction
import numpy as np

from darncodec.coding import container
from darncodec.coding.ans.streams import pop_flags, push_flags
from darncodec.coding.bitsback import BitsBackCodec
from darncodec.coding.container import CODER_RASTER, CODER_STATIC, CODER_TILED, CODINGS
from darncodec.coding.mixing.raster import RasterContexts
from darncodec.coding.mixing.tiled import AdaptiveContexts
from darncodec.coding.network.integer_model import IntegerDARN
from darncodec.coding.tiling import (
    GROUP_TILES,
    adaptive_groups,
    adaptive_schedule,
    batch_schedule,
    from_tiles,
    tile_masks,
    to_tiles,
)
from darncodec.errors import FormatError, InputError, ModelError
from darncodec.zoo import ModelFile, find_by_hash, load_model_file

MAX_BATCH = 2048
DARN_TRIAL_TILES = 64   # coder 3 on a page: larger batches are coded without the DARN, untried (on the
                        # non-test decision set its h cost more than it gained in every larger batch)
BITS_BACK_MARGIN = 2.0   # adaptive archives: pop h only when the coder holds this many times what it takes


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
        kind = {CODER_TILED: AdaptiveContexts, CODER_RASTER: RasterContexts}.get(coder)
        return kind(*self.tile, self.network.prob_table) if kind else None


def coding_model(model: str | ModelFile | None = None, device: str = "cpu") -> CodingModel:
    file = model if isinstance(model, ModelFile) else load_model_file(model)
    if not file.has_coding_tables:
        raise ModelError(f"{file.source}: has no coding tables (quantise it first)")
    return CodingModel(file, IntegerDARN(file.config, file.tensors, device))


def _check_image(bits: np.ndarray, name: str) -> np.ndarray:
    bits = np.asarray(bits)
    if bits.ndim != 2 or min(bits.shape) < 1:
        raise InputError(f"{name}: expected a non-empty 2-D image, got shape {bits.shape}")
    if bits.dtype != bool and not np.isin(bits, (0, 1)).all():
        raise InputError(f"{name}: pixels must be 0 or 1")
    return bits.astype(np.uint8)


def compress(images: Sequence[np.ndarray], model: str | ModelFile | CodingModel | None = None,
             names: Sequence[str] | None = None, device: str = "cpu", max_batch: int = MAX_BATCH,
             with_costs: bool = False, coding: str | None = None):
    """One archive for ``images`` (2-D 0/1 arrays, 1 = ink), chained through one AnsCoder.

    ``coding`` (container.CODINGS): "static" codes the DARN's probabilities; "adaptive" sharpens them
    by page-adaptive mixing in page raster order (coding.mixing.raster); "adaptive-tiles" is the earlier
    mixing tile position by tile position (coding.mixing.tiled). By default "adaptive" where the model
    allows it (a local visible layer) and some image has at least GROUP_TILES tiles, else "static".
    ``with_costs`` also returns each image's coded cost in bits: the sum over its tiles of
    -log2 p(x|h) - log2 p(h) + log2 q(h|x) for the h actually used (p(x|h) after mixing)."""
    coder_model = model if isinstance(model, CodingModel) else coding_model(model, device)
    names = list(names) if names is not None else [f"image{i}" for i in range(len(images))]
    if len(names) != len(images):
        raise InputError(f"{len(names)} names for {len(images)} images")
    images = [_check_image(bits, name) for bits, name in zip(images, names)]
    tile_h, tile_w = coder_model.tile
    cut = [to_tiles(bits, tile_h, tile_w) for bits in images]
    tiles_per_image = [len(c[0]) for c in cut]
    coder_id = _coder_id(coding, coder_model, tiles_per_image)
    tiles = np.concatenate([c[0] for c in cut]) if cut else np.zeros((0, tile_h * tile_w), np.int64)
    masks = np.concatenate([c[1] for c in cut]) if cut else np.zeros((0, tile_h * tile_w), bool)
    coder = constriction.stream.stack.AnsCoder()
    codec = BitsBackCodec(coder_model.network)
    costs = np.zeros(len(tiles))
    contexts = coder_model.adaptive_contexts(coder_id)
    groups = adaptive_groups(tiles_per_image)
    shapes = [bits.shape for bits in images]
    flags, latents = [], []
    for group, batches in itertools.groupby(coding_schedule(tiles_per_image, max_batch, coder_id),
                                            key=lambda batch: batch[2]):
        batches = list(batches)
        stages = {}
        if contexts:  # the group's counts see its pixels in decoding order, before any is coded
            _enter_group(contexts, group, groups, shapes, batches[0][0])
            for start, stop, _ in reversed(batches):
                stages[start] = contexts.batch(start, masks[start:stop])
                stages[start].count_pass(tiles[start:stop])
        page = len(groups[group]) == 1   # a group of one large image
        for start, stop, _ in batches:
            x, mask, stage = tiles[start:stop], masks[start:stop], stages.get(start)
            try_darn = coder_id != CODER_RASTER or not page or stop - start <= DARN_TRIAL_TILES
            bits_back = start > 0 and try_darn and (not contexts or enough_to_pop(coder, codec, x))
            if coder_id == CODER_RASTER:
                coder, costs[start:stop], latent = _cheaper_of(coder, codec, x, mask, bits_back, stage, try_darn)
                latents.append(latent)
            else:
                costs[start:stop] = codec.push(coder, x, mask, bits_back, stage)
            flags.append(bits_back)
    if contexts:
        push_flags(coder, flags + latents)
    header = container.Header(coder_model.file.hash, (tile_h, tile_w), max_batch,
                              [container.ImageEntry(name, *bits.shape) for name, bits in zip(names, images)],
                              container.pixel_crc(images), coder_id)
    data = container.pack(header, coder.get_compressed())
    if with_costs:
        return data, [float(part.sum()) for part in np.split(costs, np.cumsum(tiles_per_image)[:-1])]
    return data


def _cheaper_of(coder: constriction.stream.stack.AnsCoder, codec: BitsBackCodec, x: np.ndarray, mask: np.ndarray,
                bits_back: bool, stage, try_darn: bool) -> tuple[constriction.stream.stack.AnsCoder, np.ndarray, bool]:
    """Coder 3 codes each batch either with the DARN (h by bits back, its logits one input of the
    mixer) or without it (no h; the mixer's DARN input 0), whichever costs fewer bits here (the
    DARN only where ``try_darn``); the choice travels as a flag. Returns (the coder with the batch
    pushed, its tiles' costs, whether with the DARN)."""
    without = coder.clone()
    free_costs = codec.push(without, x, mask, stage=stage, latent=False)
    if try_darn:
        with_darn = coder.clone()
        darn_costs = codec.push(with_darn, x, mask, bits_back, stage)
        if darn_costs.sum() < free_costs.sum():
            return with_darn, darn_costs, True
    return without, free_costs, False


def _coder_id(coding: str | None, model: CodingModel, tiles_per_image: list[int]) -> int:
    if coding is None:  # adaptive mixing pays on pages; on small images (digits) it costs time and gains little
        coding = "adaptive" if model.can_adapt and max(tiles_per_image, default=0) >= GROUP_TILES else "static"
    ids = {name: coder for coder, name in CODINGS.items()}
    if coding not in ids:
        raise InputError(f"unknown coding {coding!r} (choose from {', '.join(ids)})")
    if ids[coding] != CODER_STATIC and not model.can_adapt:
        raise ModelError(f"{model.file.source}: adaptive mixing needs a model with a local visible layer")
    return ids[coding]


def _enter_group(contexts: AdaptiveContexts | RasterContexts, group: int, groups: list[list[int]],
                 shapes: list[tuple[int, int]], first_tile: int) -> None:
    """Give the contexts the group's images (``groups``: tiling.adaptive_groups) and first tile."""
    contexts.enter_group(group, [shapes[i] for i in groups[group]], first_tile)


def coding_schedule(tiles_per_image: list[int], max_batch: int, coder: int) -> list[tuple[int, int, int]]:
    """(start, stop, group) of every batch: static coding's doubling batches over all tiles (one
    group), or adaptive coding's batches per group of images."""
    if coder != CODER_STATIC:
        return adaptive_schedule(tiles_per_image, max_batch)
    return [(start, stop, 0) for start, stop in batch_schedule(sum(tiles_per_image), max_batch)]


def enough_to_pop(coder: constriction.stream.stack.AnsCoder, codec: BitsBackCodec, x: np.ndarray) -> bool:
    """Whether the coder holds enough bits for a batch's pop of h to be paid for (a pop from a coder
    that runs dry costs bits that never come back); the decision travels in the archive as a flag."""
    held = coder.num_bits()
    most = len(x) * codec.model.config.stochastic_units   # q has at most 1 bit of entropy per unit
    return held >= BITS_BACK_MARGIN * most or held >= BITS_BACK_MARGIN * codec.bits_back_expected(x)


def read_header(data: bytes) -> container.Header:
    return container.unpack(data)[0]


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


def decompress(data: bytes, model: str | ModelFile | CodingModel | None = None,
               device: str = "cpu") -> list[tuple[str, np.ndarray]]:
    """(name, image) for every image of an archive; any damage is a FormatError, never a wrong image."""
    header, words = container.unpack(data)
    chosen = model_for(header, model, device)
    tile_h, tile_w = header.tile
    masks_per_image = [tile_masks(i.height, i.width, tile_h, tile_w) for i in header.images]
    masks = np.concatenate(masks_per_image) if masks_per_image else np.zeros((0, tile_h * tile_w), bool)
    tiles = np.zeros(masks.shape, np.int64)
    codec = BitsBackCodec(chosen.network)
    if header.adaptive and not chosen.can_adapt:
        raise FormatError("adaptive mixing in the header, but the model has no local visible layer")
    contexts = chosen.adaptive_contexts(header.coder)
    tiles_per_image = [len(m) for m in masks_per_image]
    groups = adaptive_groups(tiles_per_image)
    shapes = [(i.height, i.width) for i in header.images]
    schedule = coding_schedule(tiles_per_image, header.max_batch, header.coder)
    group_start = {group: start for start, _, group in reversed(schedule)}
    try:
        coder = constriction.stream.stack.AnsCoder(words)
        batches = len(schedule)
        if header.coder == CODER_RASTER:
            flags = pop_flags(coder, 2 * batches)
            flags, latents = flags[:batches], flags[batches:]
        else:
            flags = pop_flags(coder, batches) if contexts else [start > 0 for start, _, _ in schedule]
            latents = [True] * batches
        for (start, stop, group), bits_back, latent in reversed(list(zip(schedule, flags, latents))):
            stage = None
            if contexts:
                _enter_group(contexts, group, groups, shapes, group_start[group])
                stage = contexts.batch(start, masks[start:stop])
            tiles[start:stop], coder = codec.pop(coder, masks[start:stop], bits_back, stage, latent)
    except (ValueError, RuntimeError) as err:  # constriction refuses the payload
        raise FormatError(f"damaged .darn payload ({err})") from None
    if not coder.is_empty():  # decoding undoes every push, back to the empty coder it started from
        raise FormatError("damaged .darn payload (data left over after decoding)")
    bounds = np.cumsum([0] + [len(mask) for mask in masks_per_image])
    images = [from_tiles(tiles[start:stop], entry.height, entry.width, tile_h, tile_w)
              for entry, start, stop in zip(header.images, bounds[:-1], bounds[1:])]
    if container.pixel_crc(images) != header.pixel_crc:
        raise FormatError("decoded pixels fail their checksum (damaged file or wrong model)")
    return [(entry.name, bits) for entry, bits in zip(header.images, images)]


def payload_bytes(data: bytes) -> int:
    """Bytes of the ANS payload alone, without the container."""
    return len(data) - container.header_size(data)


def image_costs(data: bytes, model: str | ModelFile | CodingModel | None = None, device: str = "cpu") -> list[float]:
    """Each image's share of an archive, in bits, found by decoding it and coding it again
    (coding is deterministic, so this retraces exactly what the encoder did)."""
    header = read_header(data)
    chosen = model_for(header, model, device)
    names, images = zip(*decompress(data, chosen, device)) if header.images else ((), ())
    return compress(list(images), chosen, list(names), device, header.max_batch, with_costs=True,
                    coding=header.coding)[1]
