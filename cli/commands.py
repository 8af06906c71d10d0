"""Imports every command module so that each registers itself on the `main` group."""

from darncodec.cli import bench, coding, models, train  # noqa: F401
