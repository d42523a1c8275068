"""Source `csv_folder`: punch CSV files dropped in a folder (`employee_id,timestamp,device_id[,direction]`).

Each file is read whole with the same checks as `punchbridge process`; a file that is unusable stops
the sync with its problems listed (nothing is stored from it). Files already read, with the same
size and modification time, are skipped; a changed file is read again (the store keeps one copy of
each punch).
"""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict

from punchbridge.config.paths import InputFolder
from punchbridge.plugin_api import Fetched, Register, Source, SourceContext, hookimpl

__all__ = ["CsvFolderSettings", "CsvFolderSource"]


class CsvFolderSettings(BaseModel):
    """Settings of a `csv_folder` source."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    folder: InputFolder
    pattern: str = "*.csv"


class CsvFolderSource(Source[CsvFolderSettings]):
    """Reads every matching CSV file in a folder that changed since the last run."""

    def nothing_new_since(self, cursor: str | None) -> bool:
        """True when every matching file was read before, with the same size and modification time (and
        `fetch` would give back `cursor` as it is)."""
        if cursor is None:
            return False  # the first run saves an empty cursor
        try:
            seen: dict[str, list[int]] = json.loads(cursor)
        except ValueError:
            return False  # `fetch` says what is wrong with it
        if not isinstance(seen, dict) or json.dumps(seen, sort_keys=True) != cursor:
            return False
        for path in self.settings.folder.glob(self.settings.pattern):
            stat = path.stat()
            if seen.get(path.name) != [stat.st_size, stat.st_mtime_ns]:
                return False
        return True

    def fetch(self, context: SourceContext, cursor: str | None) -> Fetched:
        """Read new or changed files; the cursor remembers (size, mtime) of each file read."""
        # Here, not at the top: the plugin loads for every command whose configuration names it.
        import pandas as pd

        from punchbridge.config.punchfile import read_punches

        seen: dict[str, list[int]] = json.loads(cursor) if cursor else {}
        punches, held = [], []
        for path in sorted(self.settings.folder.glob(self.settings.pattern)):
            stat = path.stat()
            signature = [stat.st_size, stat.st_mtime_ns]
            if seen.get(path.name) == signature:
                continue
            read = read_punches(path, context.employees, context.rules, context.date_from, context.date_to)
            punches.append(read.punches.drop(columns=["row"]))
            held.append(read.quarantine)
            seen[path.name] = signature
        frame = pd.concat(punches, ignore_index=True) if punches else pd.DataFrame()
        quarantine = pd.concat(held, ignore_index=True) if held else pd.DataFrame()
        return Fetched(punches=frame, quarantine=quarantine, cursor=json.dumps(seen, sort_keys=True))


@hookimpl
def register_sources(register: Register) -> None:
    """Register the `csv_folder` source."""
    register("csv_folder", CsvFolderSource)
