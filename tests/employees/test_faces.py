"""Face templates from an HRMS field: enrolled on the terminals, never stored, logged or reported."""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import pytest
from support.employee_kit import TEMPLATE, executed_ids, person, users, write_config
from support.minop_kit import CLOUDS

from punchbridge.config import load_config
from punchbridge.employees import EmployeeSyncReport, run_employee_sync, send
from punchbridge.plugin_api.registry import PluginRegistry, load_plugins
from punchbridge.plugin_api.targets import Batch, Employee, Outcome, Target
from punchbridge.store import Store


class PhotoHrms(Target):
    """A system of record whose employees carry a face template in `extra["FaceTemplate"]`."""

    capabilities: ClassVar[frozenset[str]] = frozenset({"pull_employees"})
    people: ClassVar[list[Employee]] = []

    def push(self, batch: Batch) -> list[Outcome]:
        return []

    def pull_employees(self, since: datetime | None = None) -> Iterator[Employee]:
        yield from type(self).people


@pytest.fixture
def plugins() -> PluginRegistry:
    registry = load_plugins()
    registry.targets["photo_hrms"] = PhotoHrms
    return registry


@pytest.fixture
def config(tmp_path: Path, minop, cloud) -> Path:
    PhotoHrms.people = [
        person("1001", "Asha Rao", extra={"FaceTemplate": TEMPLATE}),
        person("1003", "Chen Li", site="Hyderabad"),
    ]
    sync = {"source": "hrms", "user_id": {"through": "none"}, "face_template_field": "FaceTemplate"}
    return write_config(
        tmp_path,
        target={"plugin": "photo_hrms"},
        employee_sync=sync,
        minop=minop,
        minop_url=cloud.url,
        staff=[("1001", "blr", "general"), ("1003", "hyd", "general")],
    )


def run(config: Path, plugins: PluginRegistry) -> EmployeeSyncReport:
    loaded, document = load_config(config)
    with Store.open(loaded.store) as store:
        return run_employee_sync(loaded, document, plugins, store)


def stored_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in folder.glob("store.db*"))


def test_a_face_is_enrolled_after_the_user_is_added(config, plugins, minop) -> None:
    report = run(config, plugins)
    assert report.total("enrolments") == 2 and not report.failed
    for stgid in ("blr-1", "blr-2"):
        assert minop.devices[stgid].users["1001"].face_digest is not None
    assert minop.devices["hyd-1"].users["1003"].face_digest is None
    assert run(config, plugins).total("commands") == 0


def test_a_template_is_never_stored_logged_or_reported(config, plugins, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    report = run(config, plugins)
    raw = base64.b64decode(TEMPLATE)
    kept = stored_bytes(config.parent)
    assert TEMPLATE.encode() not in kept and raw[:64] not in kept
    assert TEMPLATE not in caplog.text and TEMPLATE not in str(report.summary())
    with Store.open(load_config(config)[0].store) as store:
        enrolments = [c for c in store.terminal_commands() if c.entry.action == "enrol"]
    assert len(enrolments) == 2 and all(c.entry.command is None for c in enrolments)


def test_a_new_template_is_enrolled_again(config, plugins, minop) -> None:
    run(config, plugins)
    first = minop.devices["blr-1"].users["1001"].face_digest
    other = base64.b64encode(b"ANOTHER-FACE" * 40).decode()
    PhotoHrms.people = [person("1001", "Asha Rao", extra={"FaceTemplate": other}), PhotoHrms.people[1]]
    report = run(config, plugins)
    assert report.total("enrolments") == 2 and report.total("commands") == 2
    assert minop.devices["blr-1"].users["1001"].face_digest not in (None, first)


@pytest.mark.parametrize("minop", CLOUDS, indirect=True)
def test_an_interrupted_enrolment_is_planned_again_and_the_terminals_are_right(
    config, plugins, minop, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(self, settlements):
        raise SystemExit("killed")

    with monkeypatch.context() as patch:
        # Every command executed before the first settling (which crashes): on a loaded machine the
        # half-second settling timer could otherwise fire between two commands.
        patch.setattr(send, "SETTLE_SECONDS", 3600.0)
        patch.setattr(Store, "settle_terminal_commands", crash)
        with pytest.raises(SystemExit):
            run(config, plugins)
    executed = executed_ids(minop)
    faces = {stgid: d.users["1001"].face_digest for stgid, d in minop.devices.items() if "1001" in d.users}
    report = run(config, plugins)
    assert report.abandoned == 2 and report.resumed == len(executed) - 2 and not report.failed
    assert report.total("enrolments") == 2  # planned again, with the same OperationIDs
    if minop.dedupe_operations:
        assert executed_ids(minop) == executed and max(Counter(executed).values()) == 1
    assert users(minop)["blr-1"] == {"1001"}
    assert {s: d.users["1001"].face_digest for s, d in minop.devices.items() if "1001" in d.users} == faces
    assert run(config, plugins).total("commands") == 0
