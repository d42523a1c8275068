"""Test kit for punchbridge and its plugin authors: emulators, servers and conformance checks."""
