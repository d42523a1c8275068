"""What the README quotes the commands as printing is what they print: the demo walk-through and the
`process` summary are run from a clean copy of the repository's configuration, from a working folder
other than the configuration's, and compared with the README's words; `reconcile --help` names every
period form the parser takes.
"""

from __future__ import annotations

import csv
import re
import shlex
from datetime import date
from pathlib import Path

import pytest
from support.cli_walk import describe, invoke
from support.demo_copy import REPO, copy_config

from punchbridge.reconcile.period import RELATIVE_PERIODS, parse_period

README = (REPO / "README.md").read_text()


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _blocks(text: str) -> list[str]:
    """The fenced code blocks of `text`, without their fences."""
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def _command(block: str) -> list[str]:
    """The words of the one command in a README block (backslash-continued lines joined)."""
    words = shlex.split(block.replace("\\\n", " "), comments=True)
    assert words[0] == "punchbridge", block
    return words[1:]


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean copy of the repository's configuration; the working folder is somewhere else."""
    root = tmp_path / "punchbridge"
    copy_config(root / "config")
    elsewhere = tmp_path / "somewhere-else"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return root


def test_the_process_summary_is_the_one_the_readme_quotes(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    section = _section("`punchbridge process`: try rules on a customer's data, offline")
    command, printed = _blocks(section)[:2]
    monkeypatch.chdir(repository)  # the README's command names files relative to the repository
    result = invoke(*_command(command))
    assert result.exit_code == 0, describe(result)
    assert result.output.strip().splitlines() == printed.strip().splitlines()


def _claims() -> dict[str, str]:
    """What the README's "Set up and run" says the demo sync writes and prints."""
    text = " ".join(_section("Set up and run").split())
    found = {
        "store": re.search(r"stores the month's punches in `([^`]+)`", text),
        "new store": re.search(r"\(it says `(new store: created [^`]+)`\)", text),
        "first file": re.search(r"writes `(demo-payroll/attendance_[^`]+\.csv)` with its `\.sha256` manifest", text),
        "rerun": re.search(r"nothing is sent, and it says so \(`([^`]+)`\)", text),
        "late file": re.search(r"in file `(_\d{4})`", text),
        "recomputed": re.search(r"its `Recomputed` column `([^`]+)`", text),
    }
    missing = [name for name, match in found.items() if match is None]
    assert not missing, f"the README no longer says {missing}: update this test with it"
    return {name: match.group(1) for name, match in found.items() if match is not None}


def test_the_demo_sync_writes_and_prints_what_the_readme_says(repository: Path) -> None:
    claims = _claims()
    demo = repository / "config" / "demo.yaml"
    dry = invoke("sync", "-c", str(demo), "--dry-run")
    assert dry.exit_code == 0, describe(dry)
    assert "would deliver" in dry.output
    assert not (repository / claims["store"]).exists() and not (repository / "demo-payroll").exists()

    first = invoke("sync", "-c", str(demo))
    assert first.exit_code == 0, describe(first)
    store = repository / claims["store"]
    assert store.exists(), f"the README says the store is {claims['store']} beside config/"
    said = claims["new store"].replace("...", str(repository))
    assert said in first.stderr, f"the README quotes {claims['new store']!r}:\n{first.stderr}"
    payroll = repository / claims["first file"]
    assert payroll.exists() and payroll.with_name(payroll.name + ".sha256").exists()

    again = invoke("sync", "-c", str(demo))
    assert again.exit_code == 0, describe(again)
    assert claims["rerun"] in again.output
    assert sorted(payroll.parent.glob("*.csv")) == [payroll]

    inbox = repository / "config" / "demo" / "month" / "inbox"
    (inbox / "late.csv").write_text("employee_id,timestamp,device_id,direction\nE0001,2025-10-07T20:30:00+05:30,G,\n")
    late = invoke("sync", "-c", str(demo))
    assert late.exit_code == 0, describe(late)
    (late_file,) = sorted(set(payroll.parent.glob("*.csv")) - {payroll})
    assert late_file.stem.endswith(claims["late file"])
    with late_file.open(newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["Recomputed"] == claims["recomputed"], "the README quotes the Recomputed column's value"


def test_reconcile_help_names_every_period_form_the_parser_takes() -> None:
    result = invoke("reconcile", "--help")
    assert result.exit_code == 0, describe(result)
    text = " ".join(result.output.split())
    examples = {"YYYY-MM": "2025-10", "YYYY-MM-DD..YYYY-MM-DD": "2025-10-06..2025-10-12"}
    examples.update({label: label for label in RELATIVE_PERIODS})
    for form, example in examples.items():
        parse_period(example, date(2025, 11, 20))  # the form is one the parser takes
        assert form in text, f"`reconcile --help` does not name the period form {form}:\n{result.output}"
    row = next(line for line in README.splitlines() if line.startswith("| `punchbridge reconcile "))
    for form in examples:
        assert f"`{form}`" in row, f"the README's reconcile row does not name {form}"


def test_the_bad_input_report_is_the_one_the_readme_quotes(repository: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's example: line 5 with an impossible hour, line 10 with an unknown direction."""
    text = README.split("**Bad input is reported, never half-processed.**", 1)[1]
    printed = _blocks(text)[0]
    lines = (repository / "config" / "demo" / "punches.csv").read_text().splitlines()
    lines[4] = "E1001,2025-09-29T25:00:00+05:30,BLR-GATE-2,in"
    lines[9] = "E1001,2025-10-02T14:00:00+05:30,BLR-GATE-1,sideways"
    monkeypatch.chdir(repository)
    Path("punches.csv").write_text("\n".join(lines) + "\n")
    demo = Path("config") / "demo"
    result = invoke(
        "process", "--rules", str(Path("config") / "demo.yaml"), "--punches", "punches.csv",
        "--employees", str(demo / "employees.csv"), "--from", "2025-09-29", "--to", "2025-10-05", "--out", "d.csv",
    )  # fmt: skip
    assert result.exit_code == 2, describe(result)
    assert result.stderr.strip().splitlines() == printed.strip().splitlines()
