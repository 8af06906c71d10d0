"""Command-line front end (installed as darncodec.cli)."""
