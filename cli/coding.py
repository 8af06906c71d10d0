"""`darncodec compress`, `decompress` and `info`, with the conventions of gzip and zstd."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
import sys
from pathlib import Path

import click
import numpy as np

from darncodec.cli.main import main
from darncodec.cli.options import (device_option, human_bytes, jobs_option, limits_from, limits_options,
                                   parse_pages, progress_bar, quiet_warnings, scheduler_option, verbosity_options)
from darncodec.coding.container import MAX_PARTICLES
from darncodec.coding.limits import Limits
from darncodec.errors import DarnError, FormatError, InputError
from darncodec.fileio import (
    Terminated,
    check_writable,
    outputs_removed_on_signal,
    record_output,
    write_atomically,
    write_bytes,
)

SUFFIX = ".darn"


def _read_input(path: str, threshold: float | None, limits: Limits) -> tuple[list[tuple[str, np.ndarray]], int]:
    """The images of one input and its size in bytes (for -v): the file, the .npz of 'file.npz:KEY',
    a folder's image files, or the bytes read from stdin."""
    from darncodec.imageio import load_inputs, read_bilevel_bytes

    if path == "-":
        data = sys.stdin.buffer.read()
        return read_bilevel_bytes(data, "<stdin>", threshold, limits.max_pixels), len(data)
    images = load_inputs([path], threshold, limits.max_pixels)
    if Path(path).is_dir():  # the first frame of each image file is named by the file's path
        return images, sum(Path(name).stat().st_size for name, _ in images if Path(name).is_file())
    return images, Path(path if Path(path).exists() else path.rsplit(":", 1)[0]).stat().st_size


def _archive_name(name: str) -> str:
    """The name stored for an image: its file name without folders (and any ':key/index' kept)."""
    path, sep, member = name.partition(":")
    return Path(path).name + sep + member


def _cleaned_on_signal(command):
    """SIGINT, SIGTERM or SIGHUP during ``command``: remove its temporary files and every output it
    wrote (fileio.outputs_removed_on_signal), then exit 128 + the signal's number (SIGINT: the
    group's "interrupted", 130)."""
    @functools.wraps(command)
    def run(*args, **kwargs):
        try:
            with outputs_removed_on_signal():
                return command(*args, **kwargs)
        except Terminated as stop:
            click.echo(f"darncodec: {stop}", err=True)
            sys.exit(128 + stop.signum)

    return run


def _to_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


glyph_model_option = click.option("--glyph-model", default=None,
                                  help="Model of the symbol stage's dictionaries (embedded name or file; "
                                       "default: the embedded glyph model).")


@main.command("compress")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(),
              help="Write one archive of all inputs here; or, an existing folder or a name ending in '/', "
                   "one archive per input file (a folder's files each) into that folder.")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write the archive to standard output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("-m", "--model", default=None, help="Embedded model name or model file (default: the default model).")
@click.option("--threshold", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Binarise grey or colour input: luminance below T*255 is ink.")
@click.option("--json", "as_json", is_flag=True,
              help="Print per input: coding, pixels, bytes, bits per pixel, the model's -ELBO bits (what static "
                   "coding costs; adaptive coding's bytes are usually fewer).")
@click.option("--adaptive/--static", default=None,
              help="Sharpen the model's probabilities with what the page has shown so far (page-adaptive "
                   "mixing with stroke contexts, coder 7, without the symbol stage), or code with the model alone.")
@click.option("--coding", type=click.Choice(["symbols", "strokes", "adaptive", "static", "adaptive-tiles"]), default=None,
              help="How to code (docs/coding.md); default: symbols (page-adaptive mixing after the symbol "
                   "stage) when the model has a local visible layer and an input is a page of at least 64 "
                   "tiles (strokes, page-adaptive mixing with stroke contexts, where no page has a "
                   "dictionary), else static with particles.")
@click.option("--particles", type=click.IntRange(1, MAX_PARTICLES), default=None,
              help="Monte Carlo bits-back: code each tile with up to S importance samples of its latent "
                   "code, so that the file approaches the model's -log p instead of its -ELBO (slower as S "
                   "grows; 1 = one sample, as --static). Default: 16 where the images are coded with the "
                   "model alone (not with --adaptive, nor on pages, which are coded adaptively).")
@glyph_model_option
@jobs_option
@scheduler_option
@device_option
@verbosity_options
@limits_options
@_cleaned_on_signal
def compress_command(inputs, output, to_stdout, force, model, threshold, as_json, adaptive, coding, particles,
                     glyph_model, jobs, scheduler, device, verbose, quiet, **limit_options) -> None:
    """Compress bilevel images to .darn archives (INPUT.png -> INPUT.darn; '-' reads stdin).

    Each input gets its own archive beside it unless -o (one archive of all inputs) or -c
    (one archive on standard output) is given; inputs are kept. Without --adaptive/--static, an
    archive the model would make larger than the images' raw bits stores the raw bits instead.
    """
    from darncodec.codec import coding_model
    from darncodec.parallel import executor
    from darncodec.segments import compress_many

    quiet_warnings(quiet)
    limits = limits_from(limit_options)
    if output and to_stdout:
        raise InputError("-o and -c cannot be combined")
    if jobs and scheduler:
        raise InputError("-j and --scheduler cannot be combined")
    if output and (output.endswith("/") or Path(output).is_dir()):  # one archive per input file, in a folder
        targets, groups = _into_folder(inputs, Path(output))
    elif output or to_stdout or inputs == ("-",):
        targets = [output or None]
        groups = [list(inputs)]
    else:  # one archive beside each input; '-' (stdin) goes to stdout
        targets = [None if path == "-" else str(Path(path).with_suffix(SUFFIX)) for path in inputs]
        groups = [[path] for path in inputs]
        named = [t for t in targets if t is not None]
        if len(set(named)) != len(named):
            clash = next(t for t in named if named.count(t) > 1)
            raise InputError(f"{clash}: two inputs would be compressed to it; use -o")
    if targets.count(None) > 1:
        raise InputError("'-' can be given only once")
    if None in targets and _to_terminal() and not force:
        raise InputError("compressed data not written to a terminal (use -o FILE, redirect, or -f)")
    for target in targets:
        if target is not None:
            check_writable(target, force)
    if particles not in (None, 1) and (adaptive or coding not in (None, "static")):
        raise InputError("--particles codes with the model alone; it cannot be combined with --adaptive or --coding")
    if coding is None and (adaptive is not None or particles is not None):
        coding = "strokes" if adaptive else "particles" if (particles or 1) > 1 else "static"
    elif coding == "static" and (particles or 1) > 1:
        coding = "particles"
    chosen = coding_model(model, device)
    work = []
    for target, group in zip(targets, groups):
        read = [_read_input(path, threshold, limits) for path in group]
        work.append((target, group, [image for images, _ in read for image in images], sum(size for _, size in read)))
    pixels = sum(bits.size for _, _, images, _ in work for _, bits in images)
    options = {"particles": particles if coding == "particles" else None, "glyph_model": glyph_model,
               "limits": limits}
    with executor(jobs, sum(len(images) for _, _, images, _ in work), pixels, scheduler) as pool, \
            progress_bar("compress", quiet or pool is not None) as progress:
        archives = compress_many([([bits for _, bits in images], [_archive_name(n) for n, _ in images])
                                  for _, _, images, _ in work], chosen, device, coding, executor=pool,
                                 options=options if pool is not None else {**options, "progress": progress})
    reports = []
    for (target, group, images, in_bytes), data in zip(work, archives):
        if target:
            write_bytes(target, data, force)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        if verbose:
            first = "<stdin>" if group[0] == "-" else group[0]
            name = first if len(group) == 1 else f"{first} and {len(group) - 1} more"
            _say(name, in_bytes, len(data), target or "<stdout>")
        if as_json:
            reports.append(_report(target or "-", images, data, chosen))
    if as_json:  # on stderr when the archive itself goes to stdout
        click.echo(json.dumps(reports if len(reports) > 1 else reports[0], indent=2), err=None in targets)


def _say(name: str, in_bytes: int, out_bytes: int, output: str) -> None:
    """-v's line, as zstd prints it: 'page.png : 12.34% (45.20 KiB => 5.58 KiB, page.darn)'."""
    ratio = f"{100 * out_bytes / in_bytes:.2f}%" if in_bytes else "-"
    click.echo(f"{name} : {ratio} ({human_bytes(in_bytes)} => {human_bytes(out_bytes)}, {output})", err=True)


def _into_folder(inputs: tuple[str, ...], folder: Path) -> tuple[list[str], list[list[str]]]:
    """Targets and inputs for -o FOLDER: every input file (a folder: each image file in it) to
    FOLDER/<stem>.darn."""
    from darncodec.imageio import folder_files

    if "-" in inputs:
        raise InputError("'-' cannot be compressed into a folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    files = [str(file) for path in inputs for file in (folder_files(Path(path)) if Path(path).is_dir() else [path])]
    targets = [str(folder / Path(file).with_suffix(SUFFIX).name) for file in files]
    if len(set(targets)) != len(targets):
        clash = next(t for t in targets if targets.count(t) > 1)
        raise InputError(f"{clash}: two inputs would be compressed to it")
    return targets, [[file] for file in files]


def _report(target: str, images, data: bytes, chosen) -> dict:
    from darncodec.coding.network.elbo import negative_elbo_bits
    from darncodec.coding.tiling import to_tiles
    from darncodec.segments import describe

    described = describe(data)
    codings = {info.header.coding for info in described}
    payload = sum(info.payload_bytes for info in described)
    rng = np.random.default_rng(0)
    pixels = sum(bits.size for _, bits in images)
    elbo = 0.0
    for _, bits in images:
        tiles, mask = to_tiles(bits, *chosen.tile)
        elbo += negative_elbo_bits(chosen.network, tiles, mask, rng).sum()
    return {"output": target, "coding": codings.pop() if len(codings) == 1 else "mixed", "segments": len(described),
            "images": len(images), "pixels": int(pixels), "bytes": len(data),
            "payload_bytes": payload, "bits_per_pixel": 8 * len(data) / pixels,
            "payload_bits_per_pixel": 8 * payload / pixels,
            "elbo_bits": float(elbo), "elbo_bits_per_pixel": float(elbo / pixels),
            "bytes_over_elbo": 8 * payload / elbo if elbo > 0 else None}


def _safe_stem(name: str) -> str:
    """A file-name stem for a stored image name: 'scan.tif#1' -> 'scan-1', 'a.npz:test/3' -> 'a.npz_test_3'."""
    if ":" in name:
        stem = name
    else:
        base, page_mark, page = name.partition("#")
        stem = Path(base).stem + (f"-{page}" if page_mark else "")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "image"


def _output_suffix(fmt: str | None, output: str | None, folder: bool) -> str:
    from darncodec.imageio import WRITE_FORMATS

    suffix = fmt or (Path(output).suffix.lstrip(".").lower() if output and not folder else "") or "png"
    if suffix not in WRITE_FORMATS:
        known = ", ".join(f".{ext}" for ext in WRITE_FORMATS)
        raise InputError(f"{output}: unknown output format {suffix!r}; use one of {known} or --format")
    return "." + suffix


@main.command("decompress")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--output", type=click.Path(),
              help="Output image (one image) or folder (an archive of several images, or an existing folder).")
@click.option("-c", "--stdout", "to_stdout", is_flag=True, help="Write the image to standard output.")
@click.option("-f", "--force", is_flag=True, help="Overwrite existing outputs.")
@click.option("--format", "fmt", type=click.Choice(["png", "pbm", "tif"]), default=None,
              help="Output format (default: from -o's extension, else png).")
@click.option("-m", "--model", default=None, help="Model file, when the archive's model is not embedded.")
@click.option("--pages", default=None, metavar="LIST",
              help="Restore only these images, numbered from 1 (e.g. 3,10-12); only their segments are decoded.")
@click.option("--keep-going", is_flag=True,
              help="Restore every intact image of a damaged archive, name each lost one, and exit with status 1.")
@glyph_model_option
@jobs_option
@scheduler_option
@device_option
@verbosity_options
@limits_options
@_cleaned_on_signal
def decompress_command(inputs, output, to_stdout, force, fmt, model, pages, keep_going, glyph_model, jobs, scheduler,
                       device, verbose, quiet, **limit_options) -> None:
    """Restore the images of .darn archives, bit-exact (NAME.darn -> NAME.png).

    An archive of several images becomes a folder (NAME/00000-FIRST.png, ...; the number is the
    image's place in the archive, from 0); inputs are kept.
    """
    from darncodec.parallel import executor
    from darncodec.segments import decompress_stream, plan_restore

    quiet_warnings(quiet)
    limits = limits_from(limit_options)
    if output and len(inputs) > 1:
        raise InputError("-o takes one input archive")
    if output and to_stdout:
        raise InputError("-o and -c cannot be combined")
    if jobs and scheduler:
        raise InputError("-j and --scheduler cannot be combined")
    archives = [_read_archive(path) for path in inputs]
    plan = plan_restore(archives, model, device, parse_pages(pages), {"glyph_model": glyph_model, "limits": limits})
    lost = False
    with executor(jobs, plan.tasks, plan.pixels, scheduler) as pool:
        for path, data, restoring in zip(inputs, archives, decompress_stream(plan, pool)):
            shown = "<stdin>" if path == "-" else path
            restoring = _named(path, lambda: _raise_or_return(restoring))
            if to_stdout or (path == "-" and not output):
                _restore_to_stdout(shown, len(data), restoring, fmt, verbose)
                continue
            targets, folder, suffix = _targets(path, output, fmt, restoring)
            if folder is None or folder.is_dir():  # a folder still to be made holds nothing to overwrite
                for target in targets.values():
                    check_writable(target, force)
            with _Outputs(folder, suffix) as outputs:
                for part in restoring.parts:
                    if part.lost and not keep_going:
                        raise FormatError(f"{shown}: {part.lost[0].reason}")
                    for index, _, bits in part.images:
                        outputs.write(targets[index], bits)
                    for item in part.lost:
                        for index in item.images:
                            click.echo(f"darncodec: error: {shown}: image {index + 1} lost: {item.reason}", err=True)
                            lost = True
            if verbose and outputs.written:
                _say(shown, len(data), sum(target.stat().st_size for target in outputs.written),
                     str(outputs.written[0]) if folder is None else str(folder))
    if lost:
        sys.exit(1)


def _restore_to_stdout(shown: str, size: int, restoring, fmt: str | None, verbose: bool) -> None:
    """Write an archive's one image to standard output."""
    from darncodec.imageio import write_bilevel

    if restoring.asked != 1:
        raise InputError(f"{shown}: holds {restoring.asked} images; use -o FOLDER")
    part = next(restoring.parts)
    if part.lost:   # its one image is lost: with or without --keep-going, nothing to write
        raise FormatError(f"{shown}: {part.lost[0].reason}")
    image = io.BytesIO()  # Pillow's TIFF writer seeks, which a pipe cannot
    write_bilevel(image, part.images[0][2], fmt or "png")
    sys.stdout.buffer.write(image.getvalue())
    sys.stdout.buffer.flush()
    if verbose:
        _say(shown, size, len(image.getvalue()), "<stdout>")


def _targets(path: str, output: str | None, fmt: str | None, restoring) -> tuple[dict[int, Path], Path | None, str]:
    """Where each image asked for goes (by archive index), the folder they go into (None: one file),
    and the suffix: an archive of one image (or one image asked for with -o FILE) becomes a file, any
    other a folder of NNNNN-NAME files."""
    expected = restoring.expected
    if not expected:   # every segment asked for is damaged: nothing will be written
        return {}, None, ""
    into_folder = restoring.asked != 1 or (restoring.total > 1 and not output) or bool(output and Path(output).is_dir())
    suffix = _output_suffix(fmt, output, into_folder)
    if not into_folder:
        return {expected[0][0]: Path(output) if output else Path(path).with_suffix(suffix)}, None, suffix
    folder = Path(output) if output else Path(path).with_suffix("")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder}: exists and is not a folder")
    if restoring.total == 1:
        stem = Path(path).stem if path != "-" else _safe_stem(expected[0][1])
        return {expected[0][0]: folder / f"{stem}{suffix}"}, folder, suffix
    return {i: folder / f"{i:05d}-{_safe_stem(name)}{suffix}" for i, name in expected}, folder, suffix


def _raise_or_return(result):
    if isinstance(result, Exception):
        raise result
    return result


class _Outputs:
    """Restored images written one at a time as they are decoded, each atomically, into ``folder``
    (made at the first image; None: the targets are files). If anything fails before the writer is
    closed, every image it wrote is removed, and the folder if it made it: images appear only when all
    of them could be restored and written."""

    def __init__(self, folder: Path | None, suffix: str) -> None:
        self.folder, self.suffix = folder, suffix
        self.made_folder = False
        self.written: list[Path] = []

    def write(self, target: Path, bits: np.ndarray) -> None:
        from darncodec.imageio import write_bilevel

        if self.folder is not None and not self.folder.exists():
            self.folder.mkdir(parents=False)
            self.made_folder = True
            record_output(self.folder)
        write_atomically(target, lambda tmp: write_bilevel(tmp, bits, self.suffix))
        self.written.append(target)

    def __enter__(self) -> _Outputs:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is None:
            return
        for target in self.written:
            target.unlink(missing_ok=True)
        if self.made_folder:  # only files this writer wrote can be in a folder it made
            with contextlib.suppress(OSError):
                self.folder.rmdir()


def _named(path: str, action):
    """Run ``action``, prefixing the archive's name to a FormatError's message."""
    try:
        return action()
    except FormatError as err:
        raise FormatError(f"{'<stdin>' if path == '-' else path}: {err}") from None


def _read_archive(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    file = Path(path)
    if file.is_dir():
        raise InputError(f"{path}: is a folder, not a .darn file")
    if not file.is_file():
        raise InputError(f"{path}: no such file")
    return file.read_bytes()


@main.command("info")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list when several archives are given).")
@click.option("-m", "--model", default=None, help="Model file, when the archive's model is not embedded.")
@glyph_model_option
@device_option
@limits_options
def info_command(inputs, as_json, model, glyph_model, device, **limit_options) -> None:
    """Print the header of .darn archives, their segments and each image's bits per pixel.

    Per-image bits are measured by decoding the archive and retracing its coding, which needs the
    archive's model (embedded, or given with --model); without it only the header is shown."""
    from darncodec.segments import SHARED, VERSION, describe, image_costs
    from darncodec.zoo import find_by_hash

    limits = limits_from(limit_options)
    summaries = []
    for path in inputs:
        data = _read_archive(path)
        described = _named(path, lambda: describe(data, limits))
        header = described[0].header
        entries = [entry for info in described for entry in info.header.images]
        codings = {info.header.coding for info in described}
        known = model is not None or not header.needs_model or find_by_hash(header.model_hash) is not None
        costs = _named(path, lambda: image_costs(data, model, device, glyph_model=glyph_model, limits=limits)) \
            if known else [None] * len(entries)
        summary = {"file": path, "bytes": len(data), "payload_bytes": sum(i.payload_bytes for i in described),
                   "model_hash": header.model_hash, "tile": list(header.tile), "max_batch": header.max_batch,
                   "coding": codings.pop() if len(codings) == 1 else "mixed", "version": data[4],
                   "particles": header.particles,
                   "segments": [{"first_image": info.segment.first + 1, "images": info.segment.count,
                                 "coding": info.header.coding,
                                 "bytes": len(info.segment.data) - (SHARED if data[4] == VERSION else 0),
                                 "payload_bytes": info.payload_bytes, "lead_in": info.segment.lead_in}
                                for info in described],
                   "images": [{"name": i.name, "height": i.height, "width": i.width, "bits": bits,
                               "bits_per_pixel": None if bits is None else bits / (i.height * i.width)}
                              for i, bits in zip(entries, costs)]}
        summaries.append(summary)
        if as_json:
            continue
        pixels = sum(i.height * i.width for i in entries)
        overall = f", {8 * len(data) / pixels:.4f} bits/pixel overall" if pixels else ""
        particles = f" (up to {header.particles} particles per tile)" if header.coding == "particles" else ""
        click.echo(f"{path}: {len(data)} bytes ({summary['payload_bytes']} payload), model {header.model_hash[:16]}, "
                   f"tile {header.tile[0]}x{header.tile[1]}, batches up to {header.max_batch}, "
                   f"{summary['coding']} coding{particles}, {len(entries)} image(s){overall}, "
                   f"format version {data[4]}, {len(described)} segment(s)")
        images = iter(summary["images"])
        for info, segment in zip(described, summary["segments"]):
            if data[4] == VERSION:   # a version-1 archive is one segment, the file itself
                click.echo(f"  segment {info.segment.number + 1}: {info.segment.which}, {segment['coding']} coding, "
                           f"{segment['bytes']} bytes ({segment['payload_bytes']} payload)")
            for number, image in zip(info.segment.images, images):
                cost = ("bits per image need the model: pass --model" if image["bits"] is None else
                        f"{image['bits']:.0f} bits, {image['bits_per_pixel']:.4f} bits/pixel")
                indent = "    " if data[4] == VERSION else "  "
                click.echo(f"{indent}{number + 1}. {image['name']}: {image['width']}x{image['height']}, {cost}")
    if as_json:
        click.echo(json.dumps(summaries[0] if len(summaries) == 1 else summaries, indent=2))
