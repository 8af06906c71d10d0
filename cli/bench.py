"""`darncodec bench`: compare darncodec with standard bilevel codecs on your images."""

from __future__ import annotations

import click

from darncodec.bench.baselines import CODEC_NAMES, BenchError, make_codecs
from darncodec.bench.runner import BenchResult, Row, run_bench, write_json, write_plot
from darncodec.cli.main import main

_HEADERS = ("codec", "bytes", "payload", "bits/pixel", "vs PNG", "encode s", "decode s")


def _cells(row: Row) -> tuple[str, ...]:
    def number(value: float | None, form: str) -> str:
        return "-" if value is None else format(value, form)

    return (row.codec if row.ok else f"{row.codec} FAILED", number(row.bytes, "d"),
            number(row.payload_bytes, "d"), number(row.bits_per_pixel, ".4f"),
            number(row.relative_to_png, ".3f"), f"{row.encode_s:.3f}", f"{row.decode_s:.3f}")


def format_table(result: BenchResult) -> str:
    """The codec rows as an aligned text table, with one line per failure after it."""
    table = [_HEADERS, *(_cells(row) for row in result.codecs)]
    widths = [max(len(line[i]) for line in table) for i in range(len(_HEADERS))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(line, widths))).rstrip()
             for line in table]
    lines.extend(f"{row.codec} failed: {row.error}" for row in result.failed)
    return "\n".join(lines)


def _codec_names(option: str | None) -> list[str] | None:
    if option is None:
        return None
    names = [name.strip().lower() for name in option.split(",") if name.strip()]
    if not names:
        raise BenchError("--codecs names no codec")
    return names


@main.command()
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("--codecs", metavar="NAME,...",
              help=f"Codecs to compare (default: every available one): {','.join(CODEC_NAMES)}.")
@click.option("--model", metavar="NAME|PATH", help="Model for darncodec (default: the package default).")
@click.option("--concat", is_flag=True,
              help="Give the baselines one image of all inputs tiled in a near-square grid "
                   "(inputs must share one size); darncodec always codes the set as one archive.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write all rows, per image too, as JSON.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="FILE.png",
              help="Also draw bits per pixel per codec (needs matplotlib).")
@click.option("--device", default="cpu", show_default=True, metavar="DEVICE", help="Torch device for darncodec.")
def bench(inputs: tuple[str, ...], codecs: str | None, model: str | None, concat: bool,
          json_path: str | None, plot_path: str | None, device: str) -> None:
    """Compress INPUT... (image files, folders, .npz arrays) with each codec, check that
    every image decodes exactly, and print sizes, bits per pixel and times."""
    from darncodec.imageio import load_inputs

    chosen = make_codecs(_codec_names(codecs), model=model, device=device)
    images = load_inputs(list(inputs))
    result = run_bench(images, chosen, concat=concat)
    click.echo(f"{result.images} images, {result.pixels} pixels"
               + (", baselines on one tiled image" if concat else ""))
    click.echo(format_table(result))
    if result.unavailable:
        click.echo("unavailable: " + "; ".join(f"{name}: {why}" for name, why in result.unavailable.items()))
    if json_path:
        write_json(result, json_path)
    if plot_path:
        write_plot(result, plot_path)
    if result.failed:
        raise BenchError(f"round trip failed for {', '.join(row.codec for row in result.failed)}")
