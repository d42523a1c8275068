"""`punchbridge emulate odoo|zoho|erpnext|salesforce|successfactors`: try a target's flow offline.

Each command serves that target's emulator (`punchbridge.testing.emulators.trial`) on 127.0.0.1,
holding the employees of an employees file, and prints the section to paste under `targets:`: the
URL, and credentials only this emulator accepts. Salesforce's JWT key and SuccessFactors' SAML key
are made at start-up and written to `--dir` (a temporary folder, removed at exit, without it).
It serves until Ctrl-C or SIGTERM and exits 0: stopping is how a service ends.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

import click
import yaml

from punchbridge.cli.exits import exit_codes
from punchbridge.errors import ExitCode

__all__ = ["DEFAULT_EMPLOYEES", "TARGET_COMMANDS", "TARGET_MAPPINGS"]

#: The demo month's employees (what `config/demo.yaml` processes), found beside the package's sources.
DEFAULT_EMPLOYEES = Path(__file__).resolve().parents[2] / "config" / "demo" / "month" / "employees.csv"
#: The mapping each printed section names, relative to `config/` (where the demo configurations are).
TARGET_MAPPINGS = {
    "odoo": "../mappings/odoo.yaml",
    "zoho": "demo/month/zoho-mapping.yaml",
    "erpnext": "../mappings/erpnext.yaml",
    "salesforce": "demo/month/salesforce-mapping.yaml",
    "successfactors": "demo/month/successfactors-mapping.yaml",
}
_TITLES = {
    "odoo": "Odoo",
    "zoho": "Zoho People",
    "erpnext": "ERPNext / Frappe HR",
    "salesforce": "Salesforce",
    "successfactors": "SAP SuccessFactors",
}
_KEYED = ("salesforce", "successfactors")


def _command(target: str) -> click.Command:
    """The `emulate TARGET` command of one target."""
    title = _TITLES[target]

    def run(port: int, employees: Path | None, key_dir: Path | None = None) -> None:
        _serve_trial(target, port, employees, key_dir)

    run.__doc__ = (
        f"Run an emulator of {title} on 127.0.0.1 until Ctrl-C, holding the employees of an employees file.\n\n"
        "It prints its URL and the section to paste under `targets:` in a configuration "
        f"(config/demo-{target}.yaml is one), with credentials only this emulator accepts."
    )
    params: list[click.Parameter] = [
        click.Option(["--port"], default=0, show_default=True, type=click.IntRange(0, 65535),
                     help="Port on 127.0.0.1 (0: a free port, printed)."),
        click.Option(["--employees"], type=click.Path(dir_okay=False, path_type=Path),
                     help="Employees CSV (employee_id,site,shift[,weekly_off][,department]) the target knows; "
                          "default the demo month's, config/demo/month/employees.csv."),
    ]  # fmt: skip
    if target in _KEYED:
        params.append(
            click.Option(["--dir", "key_dir"], type=click.Path(file_okay=False, path_type=Path),
                         help="Folder for the generated signing key (default a temporary folder, removed at exit).")
        )  # fmt: skip
    command = click.Command(target, callback=run, params=params, help=run.__doc__)
    notes = {
        ExitCode.OK: "stopped by Ctrl-C or SIGTERM",
        ExitCode.BAD_INPUT: "an option or the employees file is wrong, or the port is taken",
    }
    return exit_codes(notes)(command)


def _serve_trial(target: str, port: int, employees_path: Path | None, key_dir: Path | None) -> None:
    from punchbridge.testing.emulators.trial import TrialEmployeesError, make_trial, read_employees
    from punchbridge.testing.http import serve

    path = employees_path or DEFAULT_EMPLOYEES
    if employees_path is None and not path.is_file():
        raise click.BadParameter(
            f"the demo's employees file {path} is not here (punchbridge installed without its repository?): "
            "give an employees CSV",
            param_hint="--employees",
        )
    try:
        employees = read_employees(path)
    except TrialEmployeesError as exc:
        raise click.BadParameter(str(exc), param_hint="--employees") from None
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        # Ctrl-C, or SIGTERM from a supervisor, stops it cleanly at any moment from here on: while the
        # keys are made and the server starts too, so the temporary key folder is always removed.
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous = signal.signal(signum, lambda _signum, _frame: stop.set())
            stack.callback(signal.signal, signum, previous)
        if key_dir is None:
            key_dir = Path(tempfile.mkdtemp(prefix=f"punchbridge-{target}-"))
            stack.callback(shutil.rmtree, key_dir, True)
        trial = make_trial(target, employees, key_dir)
        try:
            server = stack.enter_context(serve(trial.app, port=port, **trial.serve_options))
        except OSError as exc:
            raise click.BadParameter(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", param_hint="--port"
            ) from None
        if not stop.is_set():
            _announce(target, server.url, path, len(employees), trial.notes, trial.section(server.url))
        while not stop.wait(0.5):
            pass
        click.echo("stopped", err=True)


def _announce(target: str, url: str, path: Path, count: int, notes: list[str], section: dict[str, Any]) -> None:
    click.echo(f"{_TITLES[target]} emulator running at {url}   (Ctrl-C to stop)")
    click.echo(f"employees: {count} from {path}")
    for note in notes:
        click.echo(note)
    click.echo(
        f"\nconfiguration: paste under `targets:` (see config/demo-{target}.yaml; the mapping path is "
        "relative to the configuration's folder, here config/):\n"
    )
    entry = {"plugin": section.pop("plugin"), "mapping": TARGET_MAPPINGS[target], **section}
    text = yaml.safe_dump({"targets": {target: entry}}, sort_keys=False, default_flow_style=False, width=200)
    click.echo(text.rstrip("\n"))
    click.echo("")  # a blank line ends the snippet (what a script reading it waits for)
    click.echo(f"then, in another terminal:  punchbridge sync -c config/demo-{target}.yaml", nl=True)


#: The commands, added to the `emulate` group beside `emulate minop`.
TARGET_COMMANDS = [_command(target) for target in _TITLES]
