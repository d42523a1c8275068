"""A small customer for reconciliation tests: four employees on two sites, ten days of October 2026,
delivered by a real sync to the Odoo and Salesforce emulators on loopback.

    E1 Asha   site blr   ops        Odoo barcode E1, Salesforce 10001
    E2 Ben    site blr   finance    Odoo barcode E2, Salesforce 10002
    E3 Chen   site blr   logistics  Odoo barcode E3, Salesforce 10003
    E4 Dana   site pune  ops        Odoo barcode E4, Salesforce 10004

Everyone works 09:0x-18:1x Monday to Saturday; Sunday 4 October is the weekly off. The sync covers
1-10 October; a reconciliation of `2026-10` covers the whole month.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from click.testing import Result

from punchbridge.plugin_api.targets import Employee
from punchbridge.reconcile import ReconcileReport
from punchbridge.testing.emulators.odoo import OdooEmulator
from punchbridge.testing.emulators.salesforce import SalesforceEmulator
from support.world import BENGALURU
from support.world import World as BaseWorld

EMPLOYEES = {"E1": ("blr", "ops"), "E2": ("blr", "finance"), "E3": ("blr", "logistics"), "E4": ("pune", "ops")}
SALESFORCE_IDS = {"E1": "10001", "E2": "10002", "E3": "10003", "E4": "10004"}
FIRST_DAY, LAST_DAY = date(2026, 10, 1), date(2026, 10, 10)
TODAY = date(2026, 11, 3)
#: When `World.lock` says the period was locked.
LOCKED_AT = "2026-11-01T00:00:00Z"

ODOO_MAPPING = """\
fields:
  - {name: employee, from: employee_id}
  - {name: check_in, from: first_in}
  - {name: check_out, from: last_out}
"""
SALESFORCE_MAPPING = """\
ids: {file: ids.csv, missing: quarantine}
cost_centres: {by: department, file: cost-centres.csv, default: CC-GENERAL}
fields:
  - {name: Employee_Id__c, from: target_id}
  - {name: Work_Date__c, from: work_date}
  - {name: Status__c, from: status}
  - {name: First_In__c, from: first_in}
  - {name: Last_Out__c, from: last_out}
  - {name: Worked_Minutes__c, from: worked_minutes}
  - {name: Cost_Centre__c, from: cost_centre}
  - {name: Recomputed__c, from: recomputed}
"""


def punches_csv() -> str:
    """Two punches a working day (none on Sunday 4 October), minutes varying by employee and day."""
    lines = ["employee_id,timestamp,device_id,direction"]
    day = FIRST_DAY
    while day <= LAST_DAY:
        if day.weekday() != 6:
            for number, employee in enumerate(EMPLOYEES, start=1):
                lines.append(f"{employee},{day}T09:0{number % 10}:00+05:30,GATE-1,in")
                lines.append(f"{employee},{day}T18:1{(number + day.day) % 10}:00+05:30,GATE-1,out")
        day += timedelta(days=1)
    return "\n".join(lines) + "\n"


def write_config(
    folder: Path, odoo: OdooEmulator, odoo_url: str, salesforce: SalesforceEmulator, salesforce_url: str, key: Path
) -> Path:
    """The configuration and its files in `folder`; returns the configuration's path."""
    world = BaseWorld(folder, config_name="punchbridge.yaml")
    world.write_file("inbox/punches-2026-10.csv", punches_csv())
    world.write_employees(
        [(e, site, "general", "sun", department) for e, (site, department) in EMPLOYEES.items()],
        columns=("employee_id", "site", "shift", "weekly_off", "department"),
    )
    ids = "".join(f"{e},{t}\n" for e, t in SALESFORCE_IDS.items())
    world.write_file("ids.csv", f"employee_id,target_id\n{ids}")
    world.write_file(
        "cost-centres.csv", "department,cost_centre,from,to\nops,CC-OPS,,\nfinance,CC-FIN,,\nlogistics,CC-LOG,,\n"
    )
    world.write_file("odoo.yaml", ODOO_MAPPING)
    world.write_file("salesforce.yaml", SALESFORCE_MAPPING)
    odoo_target = f"""\
plugin: odoo
mapping: odoo.yaml
url: {odoo_url}
database: {odoo.database}
login: {odoo.login}
api_key: {odoo.api_key}
protocol: jsonrpc
employee_by: barcode
timezone: Asia/Kolkata
timeout: 10
"""
    salesforce_target = f"""\
plugin: salesforce
mapping: salesforce.yaml
login_url: {salesforce_url}
client_id: {salesforce.client_id}
username: {salesforce.username}
audience: {salesforce.audience}
private_key: {key}
timezone: Asia/Kolkata
timeout: 10
"""
    payroll_target = "plugin: local_csv\nmapping: odoo.yaml\nfolder: payroll\ncreate_folder: true\n"
    return world.configure(
        period=(FIRST_DAY, LAST_DAY),
        targets={"odoo": odoo_target, "salesforce": salesforce_target, "payroll": payroll_target},
        sites={"blr": BENGALURU, "pune": BENGALURU},
        shifts={"general": '{start: "09:00", end: "18:00", grace_in: 10}'},
    )


def seeded_odoo() -> OdooEmulator:
    """An Odoo whose employees' barcodes are punchbridge's employee ids."""
    odoo = OdooEmulator()
    odoo.seed_employees([Employee(target_id=e, name=f"Employee {e}") for e in EMPLOYEES])
    return odoo


class World(BaseWorld):
    """The configuration, its store, and the two emulators it delivers to."""

    def __init__(self, config_path: Path, odoo: OdooEmulator, salesforce: SalesforceEmulator) -> None:
        super().__init__(config_path.parent, config_name=config_path.name)
        self.odoo = odoo
        self.salesforce = salesforce

    def sync(self) -> None:  # type: ignore[override]
        """A sync of every target, as the nightly job runs it (nothing failed, nothing dead-lettered)."""
        report = super().sync(today=TODAY)
        assert not report.dead_lettered, report

    def reconcile(
        self, target: str, *, period: str = "2026-10", repair: bool = False, **options: Any
    ) -> ReconcileReport:
        """run_reconcile with this world's configuration and store (reports under `reports/`)."""
        options.setdefault("today", TODAY)
        return super().reconcile(target, period=period, repair=repair, **options)

    def cli(self, *args: str, input: str | None = None) -> Result:
        """`punchbridge ARGS` (the configuration is not added: pass -c)."""
        return self.invoke(*args, input=input)

    def lock(self, site: str, period: str, *, locked_at: str = LOCKED_AT) -> None:
        """Lock a payroll period as the `payroll.cutoff.locked` webhook does."""
        super().lock(site, period, locked_at=locked_at)

    def odoo_day(self, employee: str, day: date) -> dict[str, Any]:
        """The one attendance Odoo holds for `employee` (barcode) on local `day`."""
        india = timedelta(hours=5, minutes=30)
        local = [
            a for a in self.odoo.attendances(self.odoo.employee_id(employee))
            if (datetime.fromisoformat(a["check_in"]).replace(tzinfo=UTC) + india).date() == day
        ]  # fmt: skip
        assert len(local) == 1, local
        return local[0]
