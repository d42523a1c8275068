"""The punchbridge command line with one `local_csv` push held until the test lets it go.

    PB_HOLD_DIR=DIR PB_HOLD_BATCH=3 python slow_cli.py jobs run -c CONFIG nightly

Push number PB_HOLD_BATCH writes DIR/started-N, then waits (at most 60 s) for DIR/release-N before
it writes its file: the test sends SIGTERM while a batch is in flight, at a point it chose, without
depending on timing. Every other push runs as it is.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from punchbridge.cli import main
from punchbridge.plugins import csv_drop

HOLD_DIR = Path(os.environ["PB_HOLD_DIR"])
HOLD_BATCH = int(os.environ.get("PB_HOLD_BATCH", "0"))
_real_push = csv_drop.LocalCsvTarget.push
_pushes = [0]


def _held_push(self: Any, batch: Any) -> Any:
    _pushes[0] += 1
    number = _pushes[0]
    if number == HOLD_BATCH:
        (HOLD_DIR / f"started-{number}").touch()
        deadline = time.monotonic() + 60
        while not (HOLD_DIR / f"release-{number}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    return _real_push(self, batch)


csv_drop.LocalCsvTarget.push = _held_push  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
