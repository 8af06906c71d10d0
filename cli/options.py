"""Options and small parsers shared by several commands."""

from __future__ import annotations

import click

device_option = click.option("--device", default="cpu", show_default=True,
                             help="Where the model runs: cpu, cuda or cuda:N.")


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
