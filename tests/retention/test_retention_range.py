"""After `period lock` and `purge`, a sync covers only the days it was asked for (issue 17, item 2).

A range that starts before the retention horizon starts at it; one that lies wholly before it is
refused with the reason (exit code 2) instead of quietly becoming the horizon's day.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from support.cutoff_world import World

from punchbridge.config import load_config
from punchbridge.errors import ExitCode
from punchbridge.retention.engine import purge

SHORT = "retention: {punches_days: 62, runs_days: 30, quarantine_days: 30}\n"


def _purged_october(world: World) -> None:
    """October synced, locked and purged: the retention horizon is 1 November 2025."""
    world.write_config(extra=SHORT)
    world.sync()
    assert world.cli("period lock", "--period", "2025-10").exit_code == 0
    config, _doc = load_config(world.config)
    now_ns = int(datetime(2026, 6, 15, tzinfo=UTC).timestamp()) * 10**9
    with world.store() as store:
        assert purge(config, store, now_ns=now_ns).horizon == date(2025, 11, 1)


def _october_only(world: World) -> None:
    text = world.config.read_text()
    october = "sync: {from: 2025-10-01, to: 2025-10-31}"
    world.config.write_text(re.sub(r"sync: \{from: [0-9-]+, to: [0-9-]+\}", october, text))


def test_a_range_wholly_before_the_horizon_is_refused_naming_the_horizon_and_the_range(world: World) -> None:
    _purged_october(world)
    _october_only(world)
    dry = world.sync("--dry-run", expect=ExitCode.BAD_INPUT)
    assert "2025-10-01 to 2025-10-31" in dry.output and "retention horizon 2025-11-01" in dry.output
    assert "2025-11-01 to 2025-11-01" not in dry.output, "a day the configuration never asked for"
    before = [path.read_bytes() for path in world.files("attendance")]
    world.sync("--from", "2025-10-05", "--to", "2025-10-20", expect=ExitCode.BAD_INPUT)
    assert [path.read_bytes() for path in world.files("attendance")] == before, "nothing was sent"


def test_a_range_that_crosses_the_horizon_starts_at_it_and_ends_where_asked(world: World) -> None:
    _purged_october(world)
    output = world.sync("--dry-run", "--from", "2025-10-20", "--to", "2025-11-03").output
    assert "2025-11-01 to 2025-11-03" in output


def test_an_end_before_the_start_is_refused_not_turned_into_the_start(world: World) -> None:
    world.write_config(extra=SHORT)
    result = world.sync("--dry-run", "--from", "2025-10-10", "--to", "2025-10-05", expect=ExitCode.BAD_INPUT)
    assert "--to 2025-10-05 is before --from 2025-10-10" in result.output
