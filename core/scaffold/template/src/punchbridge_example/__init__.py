"""punchbridge target plugin `example`: the target in `target`, an emulator of its API in `emulator`."""

from .target import PLUGIN, ExampleTarget, Settings

__all__ = ["PLUGIN", "ExampleTarget", "Settings"]
