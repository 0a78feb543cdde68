"""`python -m dwconf` runs the command-line interface."""

from dwconf.cli.main import main

main()
