"""The architecture of a DARN, saved beside its weights so that a model file describes itself."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

VISIBLE_KINDS = ("factorised", "full", "local")
MAX_TABLE_PIXELS = 20
MAX_FILTERS, MAX_KERNEL = 256, 32   # of a locally connected tanh layer (local_hidden) ...
MAX_LOCAL_TAPS = 1 << 23            # ... whose positions x outputs x taps bound its memory (a model file is untrusted)
LATER_FIELDS = {"table": 0, "sparsity": 0.0, "period": 0, "local_hidden": ()}   # name: default, for fields that older model files do not have


@dataclass(frozen=True)
class DarnConfig:
    """A DARN (Gregor et al. 2014) over tiles of ``height`` x ``width`` binary pixels.

    latent:   sizes of the stochastic layers H(1..L), H(1) next to the pixels (Eq. 7-8); each layer's
              prior or conditional is autoregressive within the layer (Eq. 2).
    hidden:   tanh units of the deterministic layer between consecutive layers, in the decoder and
              the encoder (Eq. 9-10); 0 connects the layers linearly.
    visible:  p(X|H): "factorised" (the paper's MNIST model), "full" (linear autoregressive over all
              earlier pixels, the UCI models of section 5.1) or "local" (autoregressive over a causal
              neighbourhood of ``radius`` rows above and columns either side, section 2.2).
    shared:   for "local", one kernel for every position (a masked convolution) instead of
              position-specific weights (locally connected).
    period:   for "local" and not shared, periodic local connectivity (section 2.2): positions whose
              row and column agree modulo ``period`` share a kernel (period x period kernels); 0 for
              a kernel per position.
    table:    for "local", the joint pattern of the ``table`` nearest causal neighbours also selects a
              learned logit from a table of 2**table entries (a static context model like JBIG's
              template, added to the linear terms); 0 for none.
    encoder_autoregressive: q(H(1)|X) autoregressive within the layer instead of factorised.
    skip:     each decoder conditional sees all stochastic layers above it (the deep DARN's skips).
    local_hidden: (filters, kernel, stride, period): periodic local connectivity *between* the pixels and
              H(1) (section 2.2; the paper's Atari model): the tanh layer of the first level is a grid
              of ``filters`` units at every ``stride``-th row and column of the tile. In the encoder
              each grid position sees the kernel x kernel pixels around it, in the decoder each pixel
              the grid positions around it (local_layers); positions equal modulo ``period``
              share weights. H(1) connects to the whole grid. () for fully connected tanh layers.
    sparsity: the fDARN of section 2.3: training keeps the mean activity of the stochastic units near
              this fraction (0: no target). Sampling a one-layer model with a linear decoder and a
              factorised visible layer then costs O(active units x (pixels + units)) (DARN.sample).
    """

    height: int
    width: int
    latent: tuple[int, ...] = (16,)
    hidden: int = 100
    visible: str = "factorised"
    radius: int = 0
    shared: bool = False
    period: int = 0
    table: int = 0
    encoder_autoregressive: bool = False
    skip: bool = False
    sparsity: float = 0.0
    local_hidden: tuple[int, ...] = ()
    corpus: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "latent", tuple(int(n) for n in self.latent))
        object.__setattr__(self, "sparsity", float(self.sparsity))
        object.__setattr__(self, "period", int(self.period))
        object.__setattr__(self, "local_hidden", tuple(int(n) for n in self.local_hidden))
        if self.height < 1 or self.width < 1:
            raise ValueError("tile height and width must be positive")
        if not self.latent or min(self.latent) < 1:
            raise ValueError("need at least one stochastic layer of at least one unit")
        if self.visible not in VISIBLE_KINDS:
            raise ValueError(f"visible must be one of {VISIBLE_KINDS}, not {self.visible!r}")
        if self.visible == "local" and self.radius < 1:
            raise ValueError("a local visible layer needs radius >= 1")
        if self.period and (self.visible != "local" or self.shared or not 2 <= self.period <= max(self.height, self.width)):
            raise ValueError("periodic weights need a local visible layer that is not shared, and a period "
                             "from 2 to the tile's side")
        if self.local_hidden:
            if len(self.local_hidden) != 4 or min(self.local_hidden) < 1:
                raise ValueError("local_hidden is four positive integers: filters, kernel, stride, period")
            filters, kernel, stride, period = self.local_hidden
            if filters > MAX_FILTERS or kernel > MAX_KERNEL or stride > min(self.height, self.width) or \
                    period > max(self.height, self.width):
                raise ValueError(f"local_hidden needs at most {MAX_FILTERS} filters, a kernel of at most "
                                 f"{MAX_KERNEL}, a stride within the tile and a period within the tile")
            for inputs, outputs, side in self.local_layers.values():   # what the coder expands them into
                if outputs[0] * outputs[1] * outputs[2] * side * side * inputs[2] > MAX_LOCAL_TAPS:
                    raise ValueError(f"local_hidden's layers may have at most {MAX_LOCAL_TAPS} weighted taps")
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError("sparsity is a target fraction of active units, at least 0 and below 1")
        if self.table and (self.visible != "local" or not 0 < self.table <= min(MAX_TABLE_PIXELS, self.radius * (2 * self.radius + 2))):
            raise ValueError(f"a context table needs a local visible layer and 1..{MAX_TABLE_PIXELS} pixels "
                             "within its neighbourhood")

    @property
    def pixels(self) -> int:
        return self.height * self.width

    @property
    def stochastic_units(self) -> int:
        return sum(self.latent)

    @property
    def samples_sparsely(self) -> bool:
        """One stochastic layer, a linear decoder and a factorised visible layer: ancestral sampling
        adds one column per active unit (section 2.3's fDARN)."""
        return len(self.latent) == 1 and self.hidden == 0 and not self.local_hidden and self.visible == "factorised"

    @property
    def grid(self) -> tuple[int, int, int]:
        """(rows, columns, filters) of local_hidden's grid of tanh units."""
        filters, _, stride, _ = self.local_hidden
        return -(-self.height // stride), -(-self.width // stride), filters

    @property
    def grid_units(self) -> int:
        """How many tanh units local_hidden's grid has."""
        rows, columns, filters = self.grid
        return rows * columns * filters

    @property
    def local_layers(self) -> dict[str, tuple[tuple[int, int, int], tuple[int, int, int], int]]:
        """local_hidden's locally connected layers by parameter name: (input grid, output grid, kernel
        side), grids as (rows, columns, channels). The encoder's goes from the tile to the grid; the
        decoder's from the grid to the tile, each pixel seeing enough grid positions to cover the
        encoder's kernel, and one more for the pixel's place within its cell."""
        if not self.local_hidden:
            return {}
        _, kernel, stride, _ = self.local_hidden
        tile = (self.height, self.width, 1)
        return {"encoder.0.inner": (tile, self.grid, kernel), "decoder.0.outer": (self.grid, tile, -(-kernel // stride) + 1)}

    def to_json(self) -> str:
        """Canonical JSON (part of a model's content hash). Fields added after the first release are
        left out while they hold their default, so that older models keep their hash."""
        fields = {k: v for k, v in asdict(self).items() if not (k in LATER_FIELDS and v == LATER_FIELDS[k])}
        return json.dumps(fields, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "DarnConfig":
        return cls(**json.loads(text))
