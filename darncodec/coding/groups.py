"""One group of adaptive coding through the stack: its batches pushed (encoder) or popped (decoder).

A group (tiling.adaptive_groups: a page, or a run of small images) has its own count state. The
encoder first walks the group's batches in decoding order for the counts (the decoder meets them
last batch first), then pushes them in schedule order; each batch of coders 3 and 4 is coded with
the DARN (h by bits back) or without it, whichever is cheaper, and the choices travel as flags
(pushed by the caller). Used by codec.py for coders 2-4 and by the symbol stage for the dictionary
sheet.
"""

from __future__ import annotations

import constriction
import numpy as np

from darncodec.coding.bitsback import BitsBackCodec
from darncodec.coding.mixing.raster import RasterBatch, RasterContexts
from darncodec.coding.mixing.tiled import AdaptiveContexts

DARN_TRIAL_TILES = 64   # on a page, larger batches are coded without the DARN, untried (on the non-test
                        # decision set its h cost more than it gained in every larger batch)
BITS_BACK_MARGIN = 2.0  # pop h only when the coder holds this many times what it takes

Coder = constriction.stream.stack.AnsCoder


def enough_to_pop(coder: Coder, codec: BitsBackCodec, x: np.ndarray) -> bool:
    """Whether the coder holds enough bits for a batch's pop of h to be paid for (a pop from a coder
    that runs dry costs bits that never come back); the decision travels in the archive as a flag."""
    held = coder.num_bits()
    most = len(x) * codec.model.config.stochastic_units   # q has at most 1 bit of entropy per unit
    return held >= BITS_BACK_MARGIN * most or held >= BITS_BACK_MARGIN * codec.bits_back_expected(x)


def _cheaper_of(coder: Coder, codec: BitsBackCodec, x: np.ndarray, mask: np.ndarray, bits_back: bool,
                stage: RasterBatch) -> tuple[Coder, np.ndarray, bool]:
    """Code a batch with the DARN (h by bits back, its logits one input of the mixer) or without it
    (no h; the mixer's DARN input 0), whichever costs fewer bits; both are planned, only the cheaper
    is pushed. Returns (the coder with the batch pushed, its tiles' costs, whether with the DARN)."""
    without = codec.plan(coder, x, mask, stage=stage, latent=False)   # pops nothing
    with_darn = coder.clone()
    darn = codec.plan(with_darn, x, mask, bits_back, stage)
    if darn.costs.sum() < without.costs.sum():
        codec.push_planned(with_darn, darn)
        return with_darn, darn.costs, True
    codec.push_planned(coder, without)
    return coder, without.costs, False


def push_group(coder: Coder, codec: BitsBackCodec, contexts: AdaptiveContexts | RasterContexts, tiles: np.ndarray,
               masks: np.ndarray, batches: list[tuple[int, int]], page: bool, first_in_archive: bool,
               choose_darn: bool) -> tuple[Coder, np.ndarray, list[bool], list[bool]]:
    """Push a group's tiles (``batches``: (start, stop) into ``tiles``; contexts already entered the
    group, its first tile at index 0). ``choose_darn``: coders 3 and 4 (with or without the DARN per
    batch; on a page a batch of more than DARN_TRIAL_TILES tiles is mixed in its count pass, without
    it); else coder 2 (always with it). Returns (coder, each tile's cost in bits, bits-back flags,
    DARN flags)."""
    def darn_tried(start: int, stop: int) -> bool:
        return not choose_darn or not page or stop - start <= DARN_TRIAL_TILES

    stages = {}
    for start, stop in reversed(batches):   # the counts see the pixels in decoding order
        stages[start] = contexts.batch(start, masks[start:stop])
        if darn_tried(start, stop):
            stages[start].count_pass(tiles[start:stop])
        else:
            stages[start].count_pass(tiles[start:stop], mixed=True)
    costs = np.zeros(len(tiles))
    flags, latents = [], []
    for start, stop in batches:
        mask, stage = masks[start:stop], stages.pop(start)
        if not darn_tried(start, stop):
            costs[start:stop], bits_back, latent = stage.push_mixed(coder), False, False
        else:
            x = tiles[start:stop].astype(np.int64)
            bits_back = not (first_in_archive and start == 0) and enough_to_pop(coder, codec, x)
            if choose_darn:
                coder, costs[start:stop], latent = _cheaper_of(coder, codec, x, mask, bits_back, stage)
            else:
                costs[start:stop], latent = codec.push(coder, x, mask, bits_back, stage), True
        flags.append(bits_back)
        latents.append(latent)
    return coder, costs, flags, latents


def pop_group(coder: Coder, codec: BitsBackCodec, contexts: AdaptiveContexts | RasterContexts, masks: np.ndarray,
              batches: list[tuple[int, int]], flags: list[bool], latents: list[bool]) -> tuple[np.ndarray, Coder]:
    """Undo push_group: the group's tiles, batches decoded last to first."""
    tiles = np.zeros(masks.shape, np.uint8)
    for (start, stop), bits_back, latent in reversed(list(zip(batches, flags, latents))):
        if coder.is_empty():  # the payload has run out: every symbol left pops as 0 (docs/format.md)
            break
        stage = contexts.batch(start, masks[start:stop])
        tiles[start:stop], coder = codec.pop(coder, masks[start:stop], bits_back, stage, latent)
    return tiles, coder
