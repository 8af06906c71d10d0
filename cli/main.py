"""The `darncodec` command: a click group whose subcommands live in one module each."""

from __future__ import annotations

import os
import signal
import sys

import click

from darncodec.errors import DarnError


class DarnGroup(click.Group):
    """Turns every DarnError (and OSError) into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context):
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()   # inside the try: a reader that went away is found here, not at exit
            return result
        except BrokenPipeError:
            _quiet_broken_pipe()
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


def _quiet_broken_pipe() -> None:
    """The reader of stdout went away (`darncodec info x.darn | head -1`): stop without a message,
    as Python's documentation on SIGPIPE advises, with devnull on stdout so that the flush at exit
    does not raise again; status 141 (128 + SIGPIPE), as a program killed by the signal reports."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(128 + signal.SIGPIPE)


@click.group(cls=DarnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="darncodec")
def main() -> None:
    """Lossless compression of bilevel images with a Deep AutoRegressive Network."""


def _register() -> None:
    from darncodec.cli import commands  # noqa: F401  (each module adds its commands to `main`)


_register()
