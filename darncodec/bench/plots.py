"""The bench plot: size against speed (one point per codec, the Pareto front marked) and, per image,
each codec's bytes relative to a reference codec (matplotlib, Agg; `darncodec[plot]`)."""

from __future__ import annotations

import math
from pathlib import Path

from darncodec.bench.baselines import DarnCodec
from darncodec.bench.runner import BenchResult, Row
from darncodec.bench.summary import megapixels_per_s, ordered, pareto_front, short_labels
from darncodec.extras import require

#: Per-image bars for at most this many images; more get one group for the whole set.
MAX_IMAGE_GROUPS = 24


def write_plot(result: BenchResult, path: str | Path, reference: Row | None) -> None:
    """Top: bits per pixel against encode and decode megapixels per second (log scale). Bottom: bytes
    relative to ``reference``, per image (sorted, short labels), with the totals in the title."""
    matplotlib = require("matplotlib", "--plot", "plot")
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure = pyplot.figure(figsize=(12, 9), layout="constrained")
    top, bottom = figure.subfigures(2, 1, height_ratios=(1, 1.1))
    speed_axes = top.subplots(1, 2, sharey=True)
    for axes, step in zip(speed_axes, ("encode", "decode")):
        _speed_panel(axes, result, step)
    speed_axes[0].set_ylabel("bits per pixel")
    top.suptitle(f"{result.images} images, {result.pixels:,} pixels"
                 + (" (baselines on one tiled image)" if result.concat else ""))
    _relative_panel(bottom.subplots(), result, reference)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def _speed_panel(axes, result: BenchResult, step: str) -> None:
    """One point per codec that ran through; the Pareto front (faster and smaller) joined and filled."""
    points = {}
    for row in result.codecs:
        speed = megapixels_per_s(row, step)
        if row.ok and speed and row.bits_per_pixel is not None:
            points[row.codec] = (speed, row.bits_per_pixel)
    front = pareto_front(points)
    for name, (speed, size) in points.items():
        on_front = name in front
        axes.scatter(speed, size, s=40, color="tab:red" if on_front else "tab:blue",
                     facecolors=None if on_front else "none", zorder=3)
        axes.annotate(name, (speed, size), textcoords="offset points", xytext=(5, 4), fontsize="small")
    if len(front) > 1:
        axes.step([points[n][0] for n in front], [points[n][1] for n in front], where="pre",
                  color="tab:red", alpha=0.6, label="Pareto front (nothing both faster and smaller)")
        axes.legend(fontsize="small", loc="best")
    axes.set_xscale("log")
    axes.margins(x=0.15, y=0.12)
    axes.set_xlabel(f"{step} speed, megapixels per second (log scale)")
    axes.set_title(f"size against {step} speed")
    axes.grid(True, which="both", alpha=0.3)


def _relative_panel(axes, result: BenchResult, reference: Row | None) -> None:
    """Grouped bars: for each image (or the whole set), each codec's bytes over the reference's."""
    if reference is None:
        axes.set_axis_off()
        axes.set_title("no classic codec ran through: nothing to compare with")
        return
    codecs = [row.codec for row in ordered(result) if row.ok and row.bytes]
    sizes: dict[str, dict[str, int]] = {}
    names: list[str] = []
    for row in result.per_image:
        if row.ok and row.bytes:
            sizes.setdefault(row.codec, {})[row.image] = row.bytes
            names.extend([row.image] if row.image not in names else [])
    groups = [n for n in names if n in sizes.get(reference.codec, {})]
    if not 1 < len(groups) <= MAX_IMAGE_GROUPS:
        groups, sizes = ["all images"], {row.codec: {"all images": row.bytes} for row in result.codecs
                                         if row.ok and row.bytes}
        labels = [f"all {result.images} images" if result.images > 1 else "the image"]
    else:
        others = [c for c in codecs if c != reference.codec]   # sorted by how darncodec (else the smallest) fares
        leader = DarnCodec.name if DarnCodec.name in others else others[0] if others else reference.codec
        groups.sort(key=lambda n: sizes.get(leader, {}).get(n, math.inf) / sizes[reference.codec][n])
        labels = short_labels(groups)
    width = 0.8 / len(codecs)
    colours = {codec: f"C{i % 10}" for i, codec in enumerate(codecs)}
    for i, codec in enumerate(codecs):
        ratios = [sizes.get(codec, {}).get(g, math.nan) / sizes[reference.codec][g] for g in groups]
        bars = axes.bar([x + (i - (len(codecs) - 1) / 2) * width for x in range(len(groups))], ratios, width,
                        label=codec, color=colours[codec])
        if len(groups) == 1:
            axes.bar_label(bars, fmt="%.3f", fontsize="small")
    axes.axhline(1.0, color="black", linewidth=0.8)
    slanted = len(groups) > 8
    axes.set_xticks(range(len(groups)), labels, rotation=30 if slanted else 0, ha="right" if slanted else "center")
    axes.set_ylabel(f"bytes / {reference.codec}'s bytes")
    axes.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    totals = ", ".join(f"{row.codec} {row.bytes:,} B ({row.bytes / reference.bytes:.3f})"
                       for row in ordered(result)[:3] if row.ok and row.bytes)
    where = "per image, sorted" if len(groups) > 1 else labels[0]
    axes.set_title(f"bytes relative to {reference.codec}, {where}; total: {totals}")
