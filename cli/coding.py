"""`darncodec compress`, `decompress` and `info`, with the conventions of gzip and zstd."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click
import numpy as np

from darncodec.cli.main import main
from darncodec.cli.options import device_option
from darncodec.errors import InputError
from darncodec.fileio import check_writable, write_atomically, write_bytes

SUFFIX = ".darn"


def _read_input(path: str, threshold: float | None) -> list[tuple[str, np.ndarray]]:
    from darncodec.imageio import load_inputs, read_bilevel_bytes

    if path == "-":
        return read_bilevel_bytes(sys.stdin.buffer.read(), "<stdin>", threshold)
    return load_inputs([path], threshold)


def _archive_name(name: str) -> str:
    """The name stored for an image: its file name without folders (and any ':key/index' kept)."""
    path, sep, member = name.partition(":")
    return Path(path).name + sep + member


@main.command("compress")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write one archive of all inputs here.")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write the archive to standard output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("-m", "--model", default=None, help="Embedded model name or model file (default: the default model).")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Binarise grey or colour input: luminance below T*255 is ink.")
@click.option("--json", "as_json", is_flag=True, help="Print per input: pixels, bytes, bits per pixel, -ELBO bits.")
@device_option
def compress_command(inputs, output, to_stdout, force, model, threshold, as_json, device) -> None:
    """Compress bilevel images to .darn archives (INPUT.png -> INPUT.darn; '-' reads stdin)."""
    from darncodec.codec import coding_model, compress

    chosen = coding_model(model, device)
    if output or to_stdout or inputs == ("-",):
        if output:
            check_writable(output, force)
        jobs = [(output, [image for path in inputs for image in _read_input(path, threshold)])]
    else:
        jobs = [(str(Path(path).with_suffix(SUFFIX)), _read_input(path, threshold)) for path in inputs]
        for target, _ in jobs:
            check_writable(target, force)
    reports = []
    for target, images in jobs:
        data = compress([bits for _, bits in images], chosen, [_archive_name(n) for n, _ in images], device)
        if target:
            write_bytes(target, data, force)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        if as_json:
            reports.append(_report(target or "-", images, data, chosen))
    if as_json:
        click.echo(json.dumps(reports if len(reports) > 1 else reports[0], indent=2), err=to_stdout)


def _report(target: str, images, data: bytes, chosen) -> dict:
    from darncodec.coding.elbo import negative_elbo_bits
    from darncodec.coding.tiling import to_tiles
    from darncodec.codec import payload_bytes

    rng = np.random.default_rng(0)
    pixels = sum(bits.size for _, bits in images)
    elbo = 0.0
    for _, bits in images:
        tiles, mask = to_tiles(bits, *chosen.tile)
        elbo += negative_elbo_bits(chosen.network, tiles, mask, rng).sum()
    return {"output": target, "images": len(images), "pixels": int(pixels), "bytes": len(data),
            "payload_bytes": payload_bytes(data), "bits_per_pixel": 8 * len(data) / pixels,
            "payload_bits_per_pixel": 8 * payload_bytes(data) / pixels,
            "elbo_bits": float(elbo), "elbo_bits_per_pixel": float(elbo / pixels),
            "bytes_over_elbo": 8 * payload_bytes(data) / elbo if elbo > 0 else None}


def _safe_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem if ":" not in name else name).strip("._") or "image"


@main.command("decompress")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(), help="Output image (one image) or folder (an archive).")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write the image to standard output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--format", "fmt", type=click.Choice(["png", "pbm", "tif"]), default=None,
              help="Output format (default: from -o's extension, else png).")
@click.option("-m", "--model", default=None, help="Model file, when the archive's model is not embedded.")
@device_option
def decompress_command(inputs, output, to_stdout, force, fmt, model, device) -> None:
    """Restore the images of .darn archives, bit-exact (NAME.darn -> NAME.png)."""
    from darncodec.codec import decompress
    from darncodec.imageio import write_bilevel

    if output and len(inputs) > 1:
        raise InputError("-o takes one input archive")
    for path in inputs:
        data = sys.stdin.buffer.read() if path == "-" else _read_archive(path)
        images = decompress(data, model, device)
        if to_stdout or (path == "-" and not output):
            if len(images) != 1:
                raise InputError(f"{path}: holds {len(images)} images; use -o FOLDER")
            write_bilevel(sys.stdout.buffer, images[0][1], fmt or "png")
            continue
        suffix = "." + (fmt or (Path(output).suffix.lstrip(".") if output and len(images) == 1 else "") or "png")
        if len(images) == 1:
            targets = [Path(output) if output else Path(path).with_suffix(suffix)]
        else:
            folder = Path(output) if output else Path(path).with_suffix("")
            folder.mkdir(exist_ok=True)
            targets = [folder / f"{i:05d}-{_safe_stem(name)}{suffix}" for i, (name, _) in enumerate(images)]
        for target in targets:
            check_writable(target, force)
        for target, (_, bits) in zip(targets, images):
            write_atomically(target, lambda tmp, b=bits, t=target: write_bilevel(tmp, b, fmt or t.suffix))


def _read_archive(path: str) -> bytes:
    file = Path(path)
    if not file.is_file():
        raise InputError(f"{path}: no such file")
    return file.read_bytes()


@main.command("info")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
def info_command(inputs, as_json) -> None:
    """Print the header of .darn archives and each image's bits per pixel."""
    from darncodec.codec import payload_bytes, read_header

    for path in inputs:
        data = _read_archive(path)
        header = read_header(data)
        summary = {"file": path, "bytes": len(data), "payload_bytes": payload_bytes(data),
                   "model_hash": header.model_hash, "tile": list(header.tile), "max_batch": header.max_batch,
                   "images": [{"name": i.name, "height": i.height, "width": i.width,
                               "bits": i.bits, "bits_per_pixel": i.bits / (i.height * i.width)}
                              for i in header.images]}
        if as_json:
            click.echo(json.dumps(summary, indent=2))
            continue
        click.echo(f"{path}: {len(data)} bytes ({summary['payload_bytes']} payload), model {header.model_hash[:16]}, "
                   f"tile {header.tile[0]}x{header.tile[1]}, {len(header.images)} image(s)")
        for image in summary["images"]:
            click.echo(f"  {image['name']}: {image['width']}x{image['height']}, "
                       f"{image['bits']:.0f} bits, {image['bits_per_pixel']:.4f} bits/pixel")
