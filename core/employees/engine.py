"""One employee sync run: the edges (configuration, pull, store, send) around the pure roster and plan.

    report = run_employee_sync(config, document, registry, store)

In order:

1. **Check** the `employee_sync:` section against the rest of the configuration (the source is a
   target that can pull employees, the devices and sites it names exist, `minop:` is there); every
   problem is reported at once with file, line and field, before any I/O.
2. **Resume**: commands a crashed or stopped run left `pending` in the journal are sent first, with
   their recorded OperationIDs. The cloud may run one a second time (an OperationID is for tracking
   only): each command is safe to run twice (`punchbridge.employees.send`).
3. **Pull** every employee from the system of record (always the full list, leavers included: an
   employee missing from it is a leaver). A pull that fails stops the run: nothing new is planned.
4. **Plan** (`build_roster`, `plan_changes`) against the ledger of what each terminal holds; the
   Minop command API cannot list a terminal's users, so the ledger is the record.
5. **Safety**: an empty reply, or a terminal losing more than `max_delete_share` of its users,
   raises `MassDeleteRefusedError` before anything is sent, unless `allow_mass_delete`.
6. **Send**: the commands are journalled `pending` in one transaction, then sent terminal by
   terminal and settled in batches (`send_commands`).

A dry run does 1, 3 and 4 (and reports what 2 and 5 would do) and writes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from punchbridge.config import Config
from punchbridge.config.datafiles import read_employees
from punchbridge.config.yamlfile import YamlDocument
from punchbridge.employees.errors import EmployeePullFailedError, EmployeeSyncNotConfiguredError, MassDeleteRefusedError
from punchbridge.employees.plan import Plan, epoch_of, plan_changes, refusals
from punchbridge.employees.report import EmployeeSyncReport
from punchbridge.employees.roster import Roster, StaffRow, build_roster, reverse_ids
from punchbridge.employees.send import Outgoing, send_commands
from punchbridge.employees.settings import EmployeeSyncSettings
from punchbridge.errors import ConfigError, Problem, UserInputError
from punchbridge.mapping.files import load_mapping
from punchbridge.minop.devices import DeviceClient, DeviceCommand
from punchbridge.plugin_api.registry import PluginRegistry
from punchbridge.plugin_api.targets import Capability, Employee, Target
from punchbridge.store import Store
from punchbridge.store.terminals import CommandSettlement, JournalCommand

__all__ = ["EmployeeSync", "check_employee_sync", "run_employee_sync"]

_SECTION = "employee_sync"


def run_employee_sync(
    config: Config,
    document: YamlDocument,
    registry: PluginRegistry,
    store: Store,
    *,
    dry_run: bool = False,
    allow_mass_delete: bool = False,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> EmployeeSyncReport:
    """Bring every terminal's users in line with the system of record (see the module docstring).

    Raises `EmployeeSyncNotConfiguredError` / `ConfigError` for configuration problems, `EmployeePullFailedError`
    when the employees cannot be read, `MassDeleteRefusedError` (nothing sent) when the safety rule trips.
    The run is recorded as kind `employees` (not for a dry run). `should_stop` is asked between
    commands: a stopped run leaves the rest pending for the next one (`report.stopped`).
    `progress(terminal, done, total)` is told as each terminal's commands are settled.
    """
    sync = EmployeeSync(config, document, registry, store, should_stop=should_stop, progress=progress)
    return sync.run(dry_run=dry_run, allow_mass_delete=allow_mass_delete)


def _problem(document: YamlDocument, message: str, loc: tuple[str | int, ...]) -> Problem:
    return Problem(str(document.path), message, line=document.line_of(loc), field=".".join(map(str, loc)))


def check_employee_sync(config: Config, document: YamlDocument, registry: PluginRegistry) -> list[Problem]:
    """What is wrong with `employee_sync:` given the rest of the configuration (empty: nothing).

    Raises `EmployeeSyncNotConfiguredError` when the section is missing.
    """
    settings = config.employee_sync
    if settings is None:
        raise EmployeeSyncNotConfiguredError(
            Problem(
                str(document.path),
                "no employee_sync: section: add one naming the target that is the system of record "
                "(employee_sync: {source: NAME}); docs/employees.md describes it",
                field=_SECTION,
            )
        )
    problems: list[Problem] = []

    def add(message: str, *loc: str | int) -> None:
        problems.append(_problem(document, message, loc))

    target = config.targets.get(settings.source)
    if target is None:
        configured = ", ".join(sorted(config.targets)) or "none"
        add(
            f"names target {settings.source!r}, which is not under targets: (configured: {configured})",
            _SECTION,
            "source",
        )
    else:
        plugin = registry.targets.get(target.plugin)
        if plugin is not None and Capability.PULL_EMPLOYEES not in plugin.capabilities:
            able = ", ".join(
                sorted(n for n, c in registry.targets.items() if Capability.PULL_EMPLOYEES in c.capabilities)
            )
            add(
                f"target {settings.source!r} ({target.plugin}) cannot pull employees; plugins that can: "
                f"{able or 'none'}",
                _SECTION,
                "source",
            )
    if config.minop is None:
        add("employee sync sends device commands: add the minop: section (base_url, api_token)", _SECTION)
    if not config.devices:
        add("employee sync needs the terminals under devices: (each with its site and auth_token)", _SECTION)
    for name, site in settings.site.names.items():
        if site not in config.sites:
            known = ", ".join(sorted(config.sites))
            add(
                f"renames {name!r} to site {site!r}, which is not under sites: ({known})",
                _SECTION,
                "site",
                "names",
                name,
            )
    for index, rule in enumerate(settings.terminals.rules):
        for named in rule.devices:
            if named not in config.devices:
                add(f"device {named!r} is not under devices:", _SECTION, "terminals", "rules", index, "devices")
    for stgid, device in sorted(config.devices.items()):
        if device.enabled and device.auth_token is None:
            add(
                f"device {stgid!r} has no auth_token: employee sync cannot send it commands (set it, or "
                "enabled: false)",
                "devices",
                stgid,
            )
    return problems


class EmployeeSync:
    """Employee sync for one configuration and store (`run_employee_sync` is the usual way in)."""

    def __init__(
        self,
        config: Config,
        document: YamlDocument,
        registry: PluginRegistry,
        store: Store,
        *,
        should_stop: Callable[[], bool] | None = None,
        make_client: Callable[[], DeviceClient] | None = None,
        progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        problems = check_employee_sync(config, document, registry)
        ConfigError.collect(problems)
        assert config.employee_sync is not None and config.minop is not None  # checked above
        self.config = config
        self.document = document
        self.registry = registry
        self.store = store
        self.settings: EmployeeSyncSettings = config.employee_sync
        self.should_stop = should_stop or (lambda: False)
        self.make_client = make_client
        self.progress = progress or (lambda _terminal, _done, _total: None)
        self.devices = {stgid: (d.site, d.enabled) for stgid, d in config.devices.items()}
        self.staff, self.ids, self.id_problems, self.ambiguous = self._inputs()

    # -- inputs ------------------------------------------------------------------------------------

    def _inputs(self) -> tuple[dict[str, StaffRow], dict[str, str] | None, list[str], set[str]]:
        problems: list[Problem] = []
        staff: dict[str, StaffRow] = {}
        try:
            frame = read_employees(self.config.employees, self.config.rules)
            for user_id, site, shift, weekly_off, department in frame.itertuples(index=False, name=None):
                staff[str(user_id)] = StaffRow(str(site), shift or None, weekly_off, department or None)
        except UserInputError as exc:
            problems.extend(exc.problems)
        ids: dict[str, str] | None = None
        id_problems: list[str] = []
        ambiguous: set[str] = set()
        if self.settings.user_id.through == "mapping":
            target = self.config.targets[self.settings.source]
            try:
                mapping = load_mapping(target.mapping, self.registry.transforms)
                if mapping.ids is not None:
                    ids, id_problems, ambiguous = reverse_ids(mapping.ids.targets, self.settings.user_id.field)
            except UserInputError as exc:
                problems.extend(exc.problems)
        ConfigError.collect(problems)
        return staff, ids, id_problems, ambiguous

    def _target(self) -> Target:
        name = self.settings.source
        return self.registry.configured_target(name, self.config.targets[name], self.document)

    def pull(self) -> list[Employee]:
        """Every employee of the system of record (EmployeePullFailedError when the list cannot be read in full)."""
        target = self._target()
        name = self.settings.source
        try:
            target.open()
            return list(target.pull_employees())
        except Exception as exc:  # any failure of a plugin: the list is incomplete, so nothing may be planned
            raise EmployeePullFailedError(
                f"cannot read the employees of target {name!r} ({target.describe()}): {type(exc).__name__}: {exc}; "
                "no new command was sent to the terminals (an incomplete list would look like leavers)"
            ) from exc
        finally:
            target.close()

    def roster(self, employees: list[Employee]) -> Roster:
        """Who should be on which terminal (pure)."""
        roster = build_roster(
            employees,
            self.settings,
            ids=self.ids,
            staff=self.staff,
            sites=self.config.sites,
            shifts=self.config.shifts,
            devices=self.devices,
            source_name=f"{self.settings.source}",
            frozen=self.ambiguous,
        )
        roster.problems[:0] = self.id_problems
        return roster

    # -- the run -----------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False, allow_mass_delete: bool = False) -> EmployeeSyncReport:
        """One run (see the module docstring). Fires `run_started` and `run_finished` (kind `employees`,
        the source as target) once each, dry runs included; a run that raises finishes with its error."""
        report = EmployeeSyncReport(dry_run=dry_run, source=self.settings.source)
        run_id: int | None = None
        self.registry.hook.run_started(kind="employees", targets=[self.settings.source])
        try:
            if dry_run:
                self._plan_into(report, skip=set(), allow_mass_delete=allow_mass_delete)
                report.awaiting_resume = len(self.store.pending_terminal_commands())
            else:
                report.run_id = run_id = self.store.start_run("employees")
                self._run(report, run_id, allow_mass_delete)
        except BaseException as exc:
            summary = report.summary()
            summary["error"] = f"{type(exc).__name__}: {exc}"[:2000]
            try:
                if run_id is not None:
                    self.store.finish_run(run_id, "failed", summary)
            finally:
                self.registry.hook.run_finished(kind="employees", summary=summary)
            raise
        if run_id is not None:
            self.store.finish_run(run_id, report.status, report.summary())
        self.registry.hook.run_finished(kind="employees", summary=report.summary())
        return report

    def _run(self, report: EmployeeSyncReport, run_id: int, allow_mass_delete: bool) -> None:
        """Resume, plan, send (stopping between steps when asked)."""
        left = self._resume(report)
        if self.should_stop():
            report.stopped = True
            return
        plan = self._plan_into(report, skip=left, allow_mass_delete=allow_mass_delete)
        if self.should_stop():
            report.stopped = True
        else:
            self._send(report, plan, run_id)

    def _plan_into(self, report: EmployeeSyncReport, *, skip: set[str], allow_mass_delete: bool) -> Plan:
        employees = self.pull()
        roster = self.roster(employees)
        plan = plan_changes(roster, self.store.terminal_users(), self.devices, lineage=secrets.token_hex(6), skip=skip)
        report.pulled, report.active, report.leavers = roster.pulled, roster.active, roster.leavers
        report.placed, report.frozen = len(roster.placements), len(roster.frozen)
        report.problems.extend(roster.problems)
        for stgid in sorted(skip):
            report.problems.append(
                f"terminal {stgid}: commands of an earlier run are still pending (it could not be reached); "
                "nothing new is planned for it until they are sent"
            )
        EmployeeSyncReport.with_plan(report, plan)
        reasons = refusals(plan, roster, self.settings.max_delete_share)
        if reasons and not allow_mass_delete:
            if report.dry_run:
                report.refused = reasons
            else:
                raise MassDeleteRefusedError(reasons, str(self.document.path))
        elif reasons and not report.dry_run:
            self.store.audit("employees.mass_delete_allowed", {"reasons": reasons})
        return plan

    def _send(self, report: EmployeeSyncReport, plan: Plan, run_id: int) -> None:
        commands = plan.commands
        entries = [
            JournalCommand(
                c.stgid, c.user_id, c.action, c.revision, c.lineage, c.operation_id, c.stored_command(), c.effect
            )
            for c in commands
        ]
        ids = self.store.record_terminal_commands(run_id, entries)
        outgoing = [
            Outgoing(
                i, c.stgid, c.user_id, c.action, c.command, epoch_of(c.lineage, c.revision), c.operation_id, c.effect
            )
            for i, c in zip(ids, commands, strict=True)
        ]
        self._deliver(outgoing, report)

    def _deliver(self, outgoing: list[Outgoing], report: EmployeeSyncReport) -> set[str]:
        assert self.config.minop is not None
        return send_commands(
            outgoing,
            minop=self.config.minop,
            devices=self.config.devices,
            store=self.store,
            report=report,
            concurrency=self.settings.concurrency,
            should_stop=self.should_stop,
            make_client=self.make_client,
            progress=self.progress,
        )

    def _resume(self, report: EmployeeSyncReport) -> set[str]:
        """Send what an interrupted run left pending; returns the terminals that still have some."""
        outgoing: list[Outgoing] = []
        abandoned: list[CommandSettlement] = []
        for stored in self.store.pending_terminal_commands():
            entry = stored.entry
            why = self._unsendable(entry.stgid, entry.command)
            if why is None:
                assert entry.command is not None
                data = entry.command["data"]
                command = DeviceCommand(entry.command["name"], entry.command["entity"], dict(data))
                epoch = epoch_of(entry.lineage, entry.revision)
                if command.operation_id(entry.stgid, epoch) != entry.operation_id:
                    why = "its OperationID cannot be derived again from what was recorded"
                else:
                    outgoing.append(
                        Outgoing(
                            stored.id,
                            entry.stgid,
                            entry.user_id,
                            entry.action,
                            command,
                            epoch,
                            entry.operation_id,
                            entry.effect,
                        )
                    )
                    continue
            abandoned.append(CommandSettlement(stored.id, "abandoned", why))
        if abandoned:
            self.store.settle_terminal_commands(abandoned)
        report.abandoned = len(abandoned)
        report.resumed = len(outgoing)
        return self._deliver(outgoing, report)

    def _unsendable(self, stgid: str, command: Mapping[str, Any] | None) -> str | None:
        """Why a pending command cannot be sent again (None: it can)."""
        device = self.config.devices.get(stgid)
        if device is None or not device.enabled or device.auth_token is None:
            return f"device {stgid} is no longer configured and enabled with an auth_token"
        if command is None:
            return "a face enrolment is not kept (templates are never stored): this run plans it again"
        data = command.get("data")
        if not isinstance(command.get("name"), str) or not isinstance(command.get("entity"), str):
            return "the recorded command is malformed"
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            return "the recorded command data is malformed"
        return None
