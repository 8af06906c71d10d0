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
