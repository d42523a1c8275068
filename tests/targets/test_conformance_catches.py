"""The conformance kit fails a target that breaks the contract (a kit that cannot fail proves nothing)."""

from __future__ import annotations

import pytest

import punchbridge.testing.conformance  # noqa: F401  (imported here, so the in-process runs share one CLI)

pytest_plugins = ["pytester"]

SLOPPY_PLUGIN_TESTS = '''
import itertools
from pathlib import Path

import pytest

from punchbridge.plugin_api import registry
from punchbridge.plugins import csv_drop
from punchbridge.testing.conformance import TargetConformance

counter = itertools.count(1)


class SloppyTarget(csv_drop.LocalCsvTarget):
    """Names each file from a process-wide counter instead of the batch's recorded sequence."""

    def push(self, batch):
        numbered = type(batch)(batch.target, batch.batch_id, batch.period_start, batch.period_end,
                               next(counter) * 1000, batch.records, batch.columns)
        return super().push(numbered)


@pytest.fixture(autouse=True)
def sloppy_plugin(monkeypatch):
    real = registry.load_plugins

    def load(only=None):
        loaded = real(only)
        loaded.targets["sloppy"] = SloppyTarget
        return loaded

    monkeypatch.setattr(registry, "load_plugins", load)


def rows(folder):
    return sum(max(0, len(p.read_text().splitlines()) - 1) for p in sorted(folder.glob("*.csv")))


class TestSloppy(TargetConformance):
    plugin = "sloppy"

    @pytest.fixture
    def target_settings(self, tmp_path):
        return {"folder": tmp_path / "out", "create_folder": True}

    @pytest.fixture
    def read_back(self, tmp_path):
        def view():
            held = {}
            for path in sorted((tmp_path / "out").glob("*.csv")):
                for line in path.read_text().splitlines()[1:]:
                    employee, day = line.split(",")[:2]
                    held[(employee, day)] = line
            return held

        return view

    @pytest.fixture
    def deliveries(self, tmp_path):
        return lambda: rows(tmp_path / "out")
'''


def test_kit_fails_a_target_whose_resend_is_not_idempotent(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_sloppy=SLOPPY_PLUGIN_TESTS)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", "crash")
    result.assert_outcomes(failed=1)
    assert "the resent batch must not create duplicates" in result.stdout.str()


MEMORY_PLUGIN_TESTS = '''
import pytest
from pydantic import BaseModel, ConfigDict

from punchbridge.plugin_api import (
    Capability,
    CredentialsError,
    FatalTargetError,
    Outcome,
    Target,
    TransientError,
    registry,
)
from punchbridge.testing.conformance import TargetConformance

STATE = {}
FLAW = "__FLAW__"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str


class MemoryTarget(Target[Settings]):
    """A target in memory with per-record outcomes and an employee pull, and one flaw (or none)."""

    capabilities = frozenset({Capability.PUSH_ATTENDANCE, Capability.PULL_EMPLOYEES})

    def open(self):
        if self.settings.password != "right-password":
            if FLAW == "login_as_transient":
                raise TransientError("login refused")
            raise CredentialsError("login refused")

    def push(self, batch):
        refused = [r for r in batch.records if r.fields["employee"] in STATE["refuse"]]
        if refused and FLAW == "all_or_nothing":
            raise FatalTargetError("the batch was refused")
        outcomes = []
        for record in batch.records:
            if record in refused:
                outcomes.append(Outcome(record.key, False, message="employee is archived"))
                continue
            if STATE["held"].get(record.key) != dict(record.fields):
                STATE["writes"] += 1
            STATE["held"][record.key] = dict(record.fields)
            outcomes.append(Outcome(record.key, True))
        return outcomes

    def pull_employees(self, since=None):
        chosen = [e for e in STATE["employees"] if since is None or e.modified_at > since]
        pages = [chosen[i : i + 200] for i in range(0, len(chosen), 200)]
        if FLAW == "first_page_only":
            pages = pages[:1]
        if FLAW == "active_only":
            pages = [[e for e in page if e.active] for page in pages]
        for page in pages:
            yield from page


@pytest.fixture(autouse=True)
def memory_plugin(monkeypatch):
    STATE.clear()
    STATE.update(held={}, writes=0, refuse=set(), employees=[])
    real = registry.load_plugins

    def load(only=None):
        loaded = real(only)
        loaded.targets["memory"] = MemoryTarget
        return loaded

    monkeypatch.setattr(registry, "load_plugins", load)


class TestMemory(TargetConformance):
    plugin = "memory"
    mapping_fields = [{"name": "employee", "from": "target_id"}, {"name": "worked", "from": "worked_minutes"}]

    @pytest.fixture
    def target_settings(self):
        return {"password": "right-password"}

    @pytest.fixture
    def read_back(self):
        return lambda: dict(STATE["held"])

    @pytest.fixture
    def deliveries(self):
        return lambda: STATE["writes"]

    @pytest.fixture
    def refuse_employee(self):
        def refuse(target_id):
            STATE["refuse"].add(target_id)
            return "archived"

        return refuse

    @pytest.fixture
    def seed_employees(self):
        return lambda employees: STATE["employees"].extend(employees)

    @pytest.fixture
    def bad_credentials(self):
        return {"password": "wrong-password"}
'''


def _run_kit(pytester: pytest.Pytester, flaw: str, selection: str) -> pytest.RunResult:
    pytester.makepyfile(test_memory=MEMORY_PLUGIN_TESTS.replace("__FLAW__", flaw))
    return pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", selection)


def test_kit_passes_a_correct_target_on_every_check(pytester: pytest.Pytester) -> None:
    result = _run_kit(pytester, "", "")
    result.assert_outcomes(passed=9)


@pytest.mark.parametrize(
    ("flaw", "check", "message"),
    [
        ("all_or_nothing", "partial", "dead letters must give exit code 3"),
        ("first_page_only", "employee_pull", "missing ['T-P0201'"),
        ("active_only", "employee_pull", "missing ['T-P0007'"),
        ("login_as_transient", "credentials", "CredentialsError"),
    ],
)
def test_kit_fails_a_target_with_a_flaw(pytester: pytest.Pytester, flaw: str, check: str, message: str) -> None:
    result = _run_kit(pytester, flaw, check)
    result.assert_outcomes(failed=1)
    assert message in result.stdout.str()
