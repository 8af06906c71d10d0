"""The `darncodec` command: a click group whose subcommands live in one module each."""

from __future__ import annotations

import sys

import click

from darncodec.errors import DarnError


class DarnGroup(click.Group):
    """Turns every DarnError (and OSError) into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except DarnError as err:
            click.echo(f"darncodec: error: {err}", err=True)
            sys.exit(1)
        except OSError as err:
            where = f" {err.filename}:" if getattr(err, "filename", None) else ""
            click.echo(f"darncodec: error:{where} {err.strerror or err}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("darncodec: interrupted", err=True)
            sys.exit(130)


@click.group(cls=DarnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="darncodec")
def main() -> None:
    """Lossless compression of bilevel images with a Deep AutoRegressive Network."""


def _register() -> None:
    from darncodec.cli import commands  # noqa: F401  (each module adds its commands to `main`)


_register()
