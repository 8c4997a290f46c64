"""``python -m bachnet``: the command line (see `bachnet.apps.cli`)."""

from bachnet.apps.cli import main

main(prog_name="bachnet")
