"""`darncodec bench`: compare darncodec with standard bilevel codecs on your images."""

from __future__ import annotations

import click

from darncodec.bench.baselines import CODEC_NAMES, BenchError, make_codecs
from darncodec.bench.runner import read_json, run_bench, write_json
from darncodec.bench.summary import markdown_table, reference_row, text_table
from darncodec.cli.main import main
from darncodec.cli.options import quiet_warnings


def _codec_names(option: str | None) -> list[str] | None:
    if option is None:
        return None
    names = [name.strip().lower() for name in option.split(",") if name.strip()]
    if not names:
        raise BenchError("--codecs names no codec")
    return names


@main.command()
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("--codecs", metavar="NAME,...",
              help=f"Codecs to compare (default: every available one): {','.join(CODEC_NAMES)}.")
@click.option("--model", metavar="NAME|PATH", help="Model for darncodec (default: the package default).")
@click.option("--concat", is_flag=True,
              help="Give the baselines one image of all inputs tiled in a near-square grid "
                   "(inputs must share one size); darncodec always codes the set as one archive.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write all rows, per image too, as JSON.")
@click.option("--from-json", "saved", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
              help="Run nothing: print (and --plot) the result saved by an earlier --json.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), metavar="FILE.png",
              help="Also draw size against speed and per-image sizes relative to the reference (needs matplotlib).")
@click.option("--relative-to", "reference", metavar="NAME",
              help="Compare sizes with this codec (default: the classic codec with the fewest bytes).")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown.")
@click.option("-q", "--quiet", is_flag=True, help="No warnings and no progress bar.")
@click.option("--device", default="cpu", show_default=True, metavar="DEVICE", help="Torch device for darncodec.")
def bench(inputs: tuple[str, ...], codecs: str | None, model: str | None, concat: bool, json_path: str | None,
          saved: str | None, plot_path: str | None, reference: str | None, markdown: bool, quiet: bool,
          device: str) -> None:
    """Compress INPUT... (image files, folders, .npz arrays) with each codec, check that
    every image decodes exactly, and print sizes, bits per pixel and speeds."""
    from darncodec.imageio import load_inputs

    quiet_warnings(quiet)
    if saved:
        if inputs or codecs or concat or json_path:
            raise BenchError("--from-json takes no INPUT, --codecs, --concat or --json")
        result = read_json(saved)
    elif not inputs:
        raise BenchError("give INPUT... to benchmark, or --from-json FILE")
    else:
        chosen = make_codecs(_codec_names(codecs), model=model, device=device)
        result = run_bench(load_inputs(list(inputs)), chosen, concat=concat, progress=not quiet)
    against = reference_row(result, reference.lower() if reference else None)
    if markdown:
        click.echo(markdown_table(result, against))
    else:
        click.echo(f"{result.images} images, {result.pixels} pixels"
                   + (", baselines on one tiled image" if result.concat else ""))
        click.echo(text_table(result, against))
        if result.unavailable:
            click.echo("unavailable: " + "; ".join(f"{name}: {why}" for name, why in result.unavailable.items()))
    if json_path:
        write_json(result, json_path)
    if plot_path:
        from darncodec.bench.plots import write_plot

        write_plot(result, plot_path, against)
    if result.failed:
        raise BenchError(f"round trip failed for {', '.join(row.codec for row in result.failed)}")
