"""Options and small parsers shared by several commands."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator

import click
from tqdm import tqdm

from darncodec import terminal

from darncodec.coding.limits import DEFAULT_LIMITS, Limits

device_option = click.option("--device", default="cpu", show_default=True,
                             help="Where the model runs: cpu, cuda or cuda:N.")


_LIMITS = (("--max-pixels", "max_pixels", "Refuse an image of more pixels (input or archive)."),
           ("--max-archive-pixels", "max_archive_pixels",
            "Refuse an archive of more coded pixels (whole tiles, padding included)."),
           ("--max-images", "max_images", "Refuse an archive of more images."))


def limits_options(command):
    """The options that raise (or lower) the limits of coding.limits; the command gets ``limits``."""
    for flag, field, text in reversed(_LIMITS):
        command = click.option(flag, field, type=click.IntRange(min=1), default=getattr(DEFAULT_LIMITS, field),
                               show_default=True, help=text)(command)
    return command


def limits_from(options: dict) -> Limits:
    """The Limits of a command's limit options (popped from ``options``)."""
    return Limits(**{field: options.pop(field) for _, field, _ in _LIMITS})


def parse_tile(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"tile must look like 32x32, not {text!r}") from None
    if height < 1 or width < 1:
        raise click.BadParameter("tile sides must be positive")
    return height, width


def verbosity_options(command):
    """-v/--verbose (one line per input, as zstd) and -q/--quiet (no warnings, no progress bar)."""
    command = click.option("-q", "--quiet", is_flag=True, help="No warnings and no progress bar.")(command)
    return click.option("-v", "--verbose", is_flag=True,
                        help="Print one line per input on stderr: name : ratio (in => out, output).")(command)


def quiet_warnings(quiet: bool) -> None:
    """-q: ignore Python warnings (from darncodec and the libraries it uses) for this command."""
    if quiet:
        warnings.simplefilter("ignore")


@contextlib.contextmanager
def progress_bar(description: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A `progress(done, total)` callback drawing a tqdm bar on stderr once a run takes longer than
    terminal.PROGRESS_DELAY_S, and never when stderr is not a terminal or with -q."""
    with tqdm(desc=description, unit="tile", delay=terminal.PROGRESS_DELAY_S, leave=False,
              disable=quiet or not terminal.stderr_is_terminal()) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


def human_bytes(count: int) -> str:
    """Sizes as zstd prints them: '745 B', '7.50 KiB', '2.31 MiB'."""
    if count < 1024:
        return f"{count} B"
    size = count / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GiB"
jobs_option = click.option("-j", "--jobs", type=click.IntRange(1), default=None,
                           help="Worker processes, over inputs and over the segments of an archive "
                                "(default: every core available, for more than two fax pages of pixels); "
                                "the output is the same for any N.")
scheduler_option = click.option("--scheduler", metavar="ADDRESS", default=None,
                                help="Run on the Dask cluster whose scheduler is at ADDRESS (tcp://host:8786) "
                                     "instead of local processes (needs darncodec[cluster]; docs/scale.md).")


def parse_pages(text: str | None) -> list[range] | None:
    """'3,10-12' -> [range(2, 3), range(9, 12)]: image numbers from 1 as the user gives them, archive
    indices from 0."""
    if text is None:
        return None
    pages: list[range] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high if dash else low)
        except ValueError:
            raise click.BadParameter(f"pages look like 3,10-12, not {text!r}") from None
        if first < 1 or last < first:
            raise click.BadParameter(f"{part.strip()!r}: pages count from 1, ranges run upwards")
        pages.append(range(first - 1, last))
    return pages
