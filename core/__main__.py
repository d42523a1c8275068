"""`python -m punchbridge`: the same command line as the `punchbridge` script."""

from .cli import main

main(prog_name="punchbridge")
