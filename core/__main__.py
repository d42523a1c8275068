"""`python -m punchbridge`: the same command line as the `punchbridge` script."""

from punchbridge.cli import main

main(prog_name="punchbridge")
