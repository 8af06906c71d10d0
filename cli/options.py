"""Options and small parsers shared by several commands."""

from __future__ import annotations

import click

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
