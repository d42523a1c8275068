"""The conformance kit fails a target that breaks the contract (a kit that cannot fail proves nothing)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SLOPPY_PLUGIN_TESTS = '''
import itertools
from pathlib import Path

import pytest

from punchbridge import registry
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
