"""Every HTTP target's emulator on loopback, seeded with the two-site customer, and each target's section.

    with running_targets(folder) as run:
        run.sections["odoo17"], run.mappings["odoo17"], run.emulators["odoo17"]

Targets: `odoo17` (Odoo 17 over JSON-RPC), `odoo19` (Odoo 19 over JSON-2), `zoho` (Zoho People,
per-minute limits lifted and paced accordingly), `erpnext` (Frappe HR 15; its system time zone is
Asia/Kolkata, the one zone it keeps), `salesforce` and `successfactors` (ExternalTimeData with
hours). The sections are what a consultant would write for a customer on two sites: no `timezone`
on a target whose system keeps each site's zone, the system's zone on one that has a single zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from punchbridge.plugin_api import Employee
from punchbridge.plugins.sap.successfactors import clear_token_cache as clear_sap_tokens
from punchbridge.plugins.zoho_people import clear_token_cache as clear_zoho_tokens
from punchbridge.testing.emulators.erpnext import ErpNextEmulator
from punchbridge.testing.emulators.odoo import OdooEmulator
from punchbridge.testing.emulators.salesforce import SalesforceEmulator, SalesforceLimits, generate_jwt_key
from punchbridge.testing.emulators.sap import SapEmulator, make_credentials
from punchbridge.testing.emulators.zoho import NoDelayHttp, ZohoEmulator, ZohoLimits
from punchbridge.testing.http import serve
from support.two_sites import EMPLOYEES, SITES

TARGETS = ("odoo17", "odoo19", "zoho", "erpnext", "salesforce", "successfactors")

FIRST_LAST = """\
fields:
  - {name: employee, from: employee_id}
  - {name: check_in, from: first_in}
  - {name: check_out, from: last_out}
"""
SALESFORCE_MAPPING = """\
fields:
  - {name: Employee_Id__c, from: employee_id}
  - {name: Work_Date__c, from: work_date}
  - {name: Status__c, from: status}
  - {name: First_In__c, from: first_in}
  - {name: Last_Out__c, from: last_out}
  - {name: Worked_Minutes__c, from: worked_minutes}
  - {name: Recomputed__c, from: recomputed}
"""
SUCCESSFACTORS_MAPPING = FIRST_LAST + "  - {name: hours, from: worked_minutes, transform: minutes_to_hours}\n"
MAPPINGS = {
    "odoo17": FIRST_LAST,
    "odoo19": FIRST_LAST,
    "zoho": FIRST_LAST,
    "erpnext": FIRST_LAST,
    "salesforce": SALESFORCE_MAPPING,
    "successfactors": SUCCESSFACTORS_MAPPING,
}


def _people(**extra_by_site: dict[str, Any]) -> list[Employee]:
    return [
        Employee(target_id=e, name=f"Person {e}", badge=e, site=site, extra=extra_by_site.get(site, {}))
        for e, site in EMPLOYEES.items()
    ]


@dataclass
class RunningTargets:
    """The emulators, and each target's section (plugin settings) and mapping text."""

    emulators: dict[str, Any] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: dict[str, str] = field(default_factory=lambda: dict(MAPPINGS))


@contextmanager
def running_targets(folder: Path) -> Iterator[RunningTargets]:
    """Every target's emulator served on loopback while the block runs (see the module docstring)."""
    clear_zoho_tokens()
    clear_sap_tokens()
    run = RunningTargets()
    with ExitStack() as stack:
        for name, version, protocol in (("odoo17", "17.0", "jsonrpc"), ("odoo19", "19.0", "json2")):
            odoo = OdooEmulator(version)
            odoo.seed_employees(_people())
            url = stack.enter_context(serve(odoo.app)).url
            run.emulators[name] = odoo
            run.sections[name] = {
                "plugin": "odoo", "url": url, "database": odoo.database, "login": odoo.login,
                "api_key": odoo.api_key, "protocol": protocol, "employee_by": "barcode", "timeout": 20,
            }  # fmt: skip

        zoho = ZohoEmulator(limits=ZohoLimits.lifted())
        zoho.seed_employees(_people())
        url = stack.enter_context(serve(zoho.app, http=NoDelayHttp)).url
        run.emulators["zoho"] = zoho
        run.sections["zoho"] = {
            "plugin": "zoho_people", **zoho.plugin_settings(url), "state_file": str(folder / "zoho-state.sqlite3"),
            "bulk_import_per_minute": 100_000, "attendance_entries_per_minute": 100_000,
            "employee_records_per_minute": 100_000, "daily_call_limit": 1_000_000, "pacing_margin": 0,
        }  # fmt: skip

        erpnext = ErpNextEmulator(timezone="Asia/Kolkata")
        erpnext.seed_employees(_people())
        url = stack.enter_context(serve(erpnext.app, http=NoDelayHttp)).url
        run.emulators["erpnext"] = erpnext
        run.sections["erpnext"] = {"plugin": "erpnext", **erpnext.plugin_settings(url), "timeout": 20}

        key_pem, certificate = generate_jwt_key()
        key = folder / "salesforce.key"
        key.write_bytes(key_pem)
        key.chmod(0o600)
        salesforce = SalesforceEmulator(certificate=certificate, limits=SalesforceLimits.lifted())
        salesforce.seed_employees(_people())
        url = stack.enter_context(serve(salesforce.app, http=NoDelayHttp)).url
        run.emulators["salesforce"] = salesforce
        run.sections["salesforce"] = {
            "plugin": "salesforce", **salesforce.plugin_settings(url, private_key=str(key)), "timeout": 20,
        }  # fmt: skip

        sap = SapEmulator(credentials=make_credentials("punchbridge-two-sites"), timezone=SITES["blr"])
        sap.seed_employees(_people(ber={"timezone": SITES["ber"]}))
        url = stack.enter_context(serve(sap.app, http=NoDelayHttp)).url
        settings = sap.plugin_settings(url, folder / "sap-keys")
        settings.pop("timezone", None)  # SuccessFactors keeps each user's own zone (EmpJob.timezone)
        run.emulators["successfactors"] = sap
        run.sections["successfactors"] = {
            "plugin": "sap_successfactors", **{k: str(v) for k, v in settings.items()}, "timeout": 20,
        }  # fmt: skip
        yield run
    clear_zoho_tokens()
    clear_sap_tokens()
