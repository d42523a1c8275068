"""Built-in punchbridge plugins (targets and sources), registered through the `punchbridge` entry-point group."""
