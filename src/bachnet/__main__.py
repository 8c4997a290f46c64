"""``python -m bachnet``: the command line (see `bachnet.cli`)."""

from .cli import main

main(prog_name="bachnet")
