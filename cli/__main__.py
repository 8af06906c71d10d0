"""`python -m darncodec.cli`: the darncodec command, also as `torchrun ... -m darncodec.cli train ...`."""

from darncodec.cli.main import main

main(prog_name="darncodec")
