"""Imports every command module so that each registers itself on the `main` group."""

from darncodec.cli import bench, train  # noqa: F401
