"""`punchbridge device purge-logs`: the safe purge frees a terminal's memory only when the store holds every
punch of the range and the terminal cannot still hold one it has not forwarded (store-and-forward)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from support.minop_kit import invoke, write_config

from punchbridge.store import Store
from punchbridge.testing.emulators.minop import EmulatedDevice, MinopEmulator

TODAY = datetime.now(UTC).date()
#: The range purged: a terminal-local day two days ago (Asia/Kolkata); yesterday's punches come after it.
DAY = TODAY - timedelta(days=2)
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture
def terminal(emulator: MinopEmulator) -> EmulatedDevice:
    device = emulator.add_device("dev1", timezone="Asia/Kolkata")
    emulator.add_device("dev2", timezone="Asia/Kolkata")
    return device


@pytest.fixture
def config(emulator, cloud, terminal, tmp_path) -> Path:
    devices = {
        name: {"site": "blr", "push_token": device.push_token, "auth_token": device.auth_token}
        for name, device in emulator.devices.items()
    }
    return write_config(
        tmp_path,
        emulator.source_settings(cloud.url),
        [("1001", "blr"), ("1002", "blr")],
        minop={"base_url": cloud.url, "api_token": emulator.command_token},
        devices=devices,
        sync_range=(DAY.isoformat(), YESTERDAY.isoformat()),
    )


def scan_on(emulator: MinopEmulator, day: date, count: int, *, stgid: str = "dev1", first: int = 0) -> None:
    """`count` punches on `day` from 09:30 in Bengaluru (04:00 UTC), half an hour apart."""
    start = datetime(day.year, day.month, day.day, 4, 0, tzinfo=UTC)
    for n in range(first, first + count):
        emulator.scan(stgid, "1001" if n % 2 else "1002", start + timedelta(minutes=30 * n))


def purge(config: Path, first: date, last: date | None = None, *extra: str, stgid: str = "dev1"):
    """`device purge-logs` confirmed with --yes (as a script must: the test has no terminal)."""
    return invoke("device", "purge-logs", "-c", config, "--device", stgid, "--from", first, "--to", last or first,
                  "--yes", *extra)  # fmt: skip


def sync(config: Path) -> None:
    result = invoke("sync", "-c", config)
    assert result.exit_code in (0, 3), result.output


def test_purge_is_refused_until_every_punch_of_the_range_is_stored(config, emulator, terminal):
    scan_on(emulator, DAY, 4)
    scan_on(emulator, YESTERDAY, 1)  # it has forwarded a later punch: nothing of DAY can still be on its way
    refused = purge(config, DAY)
    assert refused.exit_code == 6, refused.output  # REFUSED: a safety check, lifted by --force
    assert "4 punch(es) the cloud lists for dev1 are not in the store" in refused.output
    assert f"1002 at {DAY} 09:30:00+05:30" in refused.output  # which punches, in the terminal's time
    assert f"run `punchbridge sync -c {config}`" in refused.output and "--force" in refused.output
    assert f"{DAY}: cloud 4, stored 0, quarantined 0 (4 missing)" in refused.output
    assert "may still hold" not in refused.output
    assert len(terminal.log) == 5 and emulator.stats["requests:execute"] == 0

    sync(config)
    done = purge(config, DAY)
    assert done.exit_code == 0, done.output
    assert f"{DAY}: cloud 4, stored 4, quarantined 0" in done.output
    assert [datetime.fromtimestamp(e.instant_ns / 1e9, UTC).date() for e in terminal.log] == [YESTERDAY]


def test_an_offline_terminal_may_hold_punches_the_cloud_has_not_seen_so_the_purge_waits(config, emulator, terminal):
    scan_on(emulator, DAY, 2)
    emulator.set_online("dev1", False)
    scan_on(emulator, DAY, 2, first=2)  # kept by the terminal: the cloud does not know them yet
    scan_on(emulator, YESTERDAY, 1)
    sync(config)
    with Store.open(f"sqlite:///{config.parent / 'store.db'}") as store:
        assert store.punch_count() == 2  # all the cloud has: the store holds every punch the cloud lists

    waiting = purge(config, DAY)
    assert waiting.exit_code == 6, waiting.output
    assert "dev1 may still hold punches of the range that it has not forwarded" in waiting.output
    assert f"the newest punch it has forwarded was made at {DAY} 10:00:00+05:30" in waiting.output
    assert f"not after {DAY + timedelta(days=1)} 02:00:00+05:30" in waiting.output
    assert len(terminal.log) == 5 and emulator.stats["requests:execute"] == 0

    assert emulator.set_online("dev1", True) == 3  # back: it forwards what it kept, oldest first
    still = purge(config, DAY)  # the cloud lists them now, the store does not yet
    assert still.exit_code == 6 and "2 punch(es) the cloud lists for dev1 are not in the store" in still.output
    sync(config)
    done = purge(config, DAY)
    assert done.exit_code == 0, done.output
    assert len(terminal.log) == 1


def test_a_quarantined_punch_is_stored_and_does_not_block_the_purge(config, emulator, terminal):
    start = datetime(DAY.year, DAY.month, DAY.day, 4, 0, tzinfo=UTC)
    emulator.scan("dev1", "1001", start)
    emulator.scan("dev1", "9999", start + timedelta(hours=1))  # not in the employees file
    scan_on(emulator, YESTERDAY, 1)
    sync(config)
    done = purge(config, DAY)
    assert done.exit_code == 0, done.output  # held in the quarantine: "sync first" would not help
    assert f"{DAY}: cloud 2, stored 1, quarantined 1" in done.output
    assert "kept in the quarantine" in done.output and "9999" in done.output and "unknown_employee" in done.output


def test_a_terminal_that_never_forwarded_a_later_punch_is_not_purged(config, emulator, terminal):
    scan_on(emulator, DAY, 2)
    sync(config)
    refused = purge(config, DAY)
    assert refused.exit_code == 6
    assert "the newest punch it has forwarded was made at" in refused.output
    quiet = purge(config, date(2020, 1, 1), DAY, stgid="dev2")
    assert quiet.exit_code == 6 and "it has forwarded no punch made in or after the range" in quiet.output
    assert emulator.stats["requests:execute"] == 0


def test_the_margin_after_the_range_is_an_option(config, emulator, terminal):
    scan_on(emulator, DAY, 1)
    scan_on(emulator, YESTERDAY, 1)  # 09:30 in Bengaluru: 9.5 hours after DAY ended there
    sync(config)
    assert purge(config, DAY, None, "--margin-minutes", str(10 * 60)).exit_code == 6
    assert purge(config, DAY, None, "--margin-minutes", str(9 * 60)).exit_code == 0


def test_purge_with_force_skips_the_check(config, emulator, terminal):
    scan_on(emulator, DAY, 3)
    result = purge(config, DAY, None, "--force")
    assert result.exit_code == 0, result.output
    assert terminal.log == [] and emulator.stats["requests:raw"] == 0


def test_purge_only_frees_the_dates_asked_for(config, emulator, terminal):
    scan_on(emulator, DAY, 2)
    earlier = datetime(DAY.year, DAY.month, DAY.day, 4, tzinfo=UTC) - timedelta(days=3)
    emulator.scan("dev1", "1001", earlier)
    scan_on(emulator, YESTERDAY, 1)
    sync(config)
    assert purge(config, DAY).exit_code == 0
    assert [entry.user_id for entry in terminal.log] == ["1001", "1002"]  # the earlier day and yesterday


def test_the_store_is_read_for_the_device_and_range_only(config, emulator, terminal, tmp_path):
    scan_on(emulator, DAY, 2)
    scan_on(emulator, YESTERDAY, 1, stgid="dev2")
    sync(config)
    with Store.open(f"sqlite:///{tmp_path / 'store.db'}") as store:
        assert store.punch_count() == 3
    # dev2 holds nothing of the range and forwarded a later punch: safe, although dev1's punches exist
    result = purge(config, date(2020, 1, 1), DAY, stgid="dev2")
    assert result.exit_code == 0, result.output
    assert "no punch on any day" in result.output


def test_purge_without_a_minop_source_says_how_to_fix_it(emulator, cloud, terminal, tmp_path):
    config = write_config(
        tmp_path,
        None,
        minop={"base_url": cloud.url, "api_token": emulator.command_token},
        devices={"dev1": {"site": "blr", "auth_token": terminal.auth_token}},
    )
    result = purge(config, date(2025, 10, 1))
    assert result.exit_code == 2
    assert "`minop` source" in result.output and "--force" in result.output
