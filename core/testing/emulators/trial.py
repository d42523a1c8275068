"""Each HTTP target's emulator set up for a trial on one machine (`punchbridge emulate TARGET`).

    trial = make_trial("odoo", read_employees(Path("config/demo/month/employees.csv")), key_folder)
    with serve(trial.app) as server:
        trial.section(server.url)       # the `targets:` entry that works against it

A trial emulator holds the employees of a punchbridge employees file (`employee_id,site,shift
[,weekly_off][,department]`): each is known to the target by their terminal user id (its employee
id, badge, Attendance Device ID or user id), so a mapping that takes `employee` from `employee_id`
finds them. Credentials are fixed demo values that only these emulators accept (loopback only),
except the signing keys of Salesforce's JWT flow and SuccessFactors' SAML assertion: those are made
at start-up and written to `key_folder`, because a key must never be committed.

Limits a real system enforces per minute (Zoho) or per day (Salesforce) are lifted, and the Zoho
section says so in the settings it prints: a trial of a month should take seconds, not the hour
Zoho's documented pace would give it. Everything else (sizes, validation, errors) is as strict as
in the plugins' tests.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from punchbridge.plugin_api.targets import Employee

__all__ = [
    "DEMO_SITE_ZONES",
    "TRIAL_TARGETS",
    "Trial",
    "TrialEmployeesError",
    "make_trial",
    "read_employees",
]

#: `punchbridge emulate` commands, and the plugin each one's section names.
TRIAL_TARGETS: Mapping[str, str] = {
    "odoo": "odoo",
    "zoho": "zoho_people",
    "erpnext": "erpnext",
    "salesforce": "salesforce",
    "successfactors": "sap_successfactors",
}
#: The demo configurations' sites and their zones (SuccessFactors and Odoo keep a zone per employee).
DEMO_SITE_ZONES: Mapping[str, str] = {"blr": "Asia/Kolkata", "ber": "Europe/Berlin"}

ODOO_DEMO_KEY = "demo-odoo-api-key"
ZOHO_DEMO = {"client_id": "1000.DEMOCLIENTID", "client_secret": "demo-secret", "refresh_token": "demo-refresh-token"}
ERPNEXT_DEMO = {"api_key": "demo-erpnext-key", "api_secret": "demo-erpnext-secret"}
SALESFORCE_DEMO_CLIENT = "3MVG9demo.punchbridge.consumer.key"
SUCCESSFACTORS_DEMO_CLIENT = "ZGVtby1zdWNjZXNzZmFjdG9ycy1jbGllbnQ"
#: Zoho's per-minute pace, lifted to match the emulator (a real organisation needs the defaults).
ZOHO_TRIAL_PACE = {
    "bulk_import_per_minute": 10_000,
    "attendance_entries_per_minute": 10_000,
    "employee_records_per_minute": 10_000,
    "daily_call_limit": 1_000_000,
    "pacing_margin": 0,
}


class TrialEmployeesError(ValueError):
    """The employees file cannot be used; the message names the file and line."""


@dataclass
class Trial:
    """A target's emulator ready to serve: its ASGI app, the section for `targets:`, what to tell the user."""

    target: str
    emulator: Any
    app: Any
    section: Callable[[str], dict[str, Any]]
    #: Lines printed above the snippet (what is lifted, where the keys are).
    notes: list[str] = field(default_factory=list)
    #: Extra keywords for `punchbridge.testing.http.serve`.
    serve_options: dict[str, Any] = field(default_factory=dict)


def read_employees(path: Path, site_zones: Mapping[str, str] = DEMO_SITE_ZONES) -> list[Employee]:
    """The employees of a punchbridge employees CSV, as a trial target holds them (ids = terminal user ids)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if "employee_id" not in (reader.fieldnames or []):
                raise TrialEmployeesError(f"{path}:1: no employee_id column (expected employee_id,site,shift,...)")
            employees = []
            for row in reader:
                employee_id = (row.get("employee_id") or "").strip()
                if not employee_id:
                    raise TrialEmployeesError(f"{path}:{reader.line_num}: employee_id is empty")
                site = (row.get("site") or "").strip() or None
                employees.append(
                    Employee(
                        target_id=employee_id,
                        name=f"Employee {employee_id}",
                        email=f"{employee_id.lower()}@acme.example",
                        badge=employee_id,
                        department=(row.get("department") or "").strip() or None,
                        site=site,
                        extra={"timezone": site_zones[site]} if site and site in site_zones else {},
                    )
                )
    except OSError as exc:
        raise TrialEmployeesError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise TrialEmployeesError(f"{path}: not a CSV file ({exc})") from None
    if not employees:
        raise TrialEmployeesError(f"{path}: holds no employee")
    return employees


def make_trial(target: str, employees: Sequence[Employee], key_folder: Path) -> Trial:
    """The emulator of `target` (a key of `TRIAL_TARGETS`) holding `employees`; keys go to `key_folder`."""
    builders: dict[str, Callable[[Sequence[Employee], Path], Trial]] = {
        "odoo": _odoo,
        "zoho": _zoho,
        "erpnext": _erpnext,
        "salesforce": _salesforce,
        "successfactors": _successfactors,
    }
    return builders[target](employees, key_folder)


def _no_delay() -> dict[str, Any]:
    from punchbridge.testing.emulators.zoho import NoDelayHttp

    return {"http": NoDelayHttp}


def _odoo(employees: Sequence[Employee], _keys: Path) -> Trial:
    from punchbridge.testing.emulators.odoo import OdooEmulator

    emulator = OdooEmulator("17.0", database="demo", login="punchbridge@acme.example", api_key=ODOO_DEMO_KEY)
    # Odoo keeps a zone per employee: each site's, so a Berlin day is a Berlin day in Odoo too.
    for zone in sorted({str(e.extra.get("timezone", "UTC")) for e in employees}):
        emulator.seed_employees([e for e in employees if e.extra.get("timezone", "UTC") == zone], tz=zone)

    def section(url: str) -> dict[str, Any]:
        return {
            "plugin": "odoo", "url": url, "database": emulator.database, "login": emulator.login,
            "api_key": f"${{ODOO_API_KEY:-{ODOO_DEMO_KEY}}}", "employee_by": "barcode",
        }  # fmt: skip

    return Trial("odoo", emulator, emulator.app, section, ["Odoo 17 (XML-RPC and JSON-RPC), database demo"])


def _zoho(employees: Sequence[Employee], _keys: Path) -> Trial:
    from punchbridge.testing.emulators.zoho import ZohoEmulator, ZohoLimits

    emulator = ZohoEmulator(limits=ZohoLimits.lifted(), **ZOHO_DEMO)
    emulator.seed_employees(employees)

    def section(url: str) -> dict[str, Any]:
        return {
            "plugin": "zoho_people", "accounts_url": url,
            "client_id": ZOHO_DEMO["client_id"],
            "client_secret": f"${{ZOHO_CLIENT_SECRET:-{ZOHO_DEMO['client_secret']}}}",
            "refresh_token": f"${{ZOHO_REFRESH_TOKEN:-{ZOHO_DEMO['refresh_token']}}}",
            "identify_by": "empId", **ZOHO_TRIAL_PACE,
        }  # fmt: skip

    notes = [
        "Zoho's per-minute and daily limits are lifted here, and so is the pace in the settings below:",
        "leave the *_per_minute, daily_call_limit and pacing_margin lines out for a real organisation",
    ]
    return Trial("zoho", emulator, emulator.app, section, notes, _no_delay())


def _erpnext(employees: Sequence[Employee], _keys: Path) -> Trial:
    from punchbridge.testing.emulators.erpnext import ErpNextEmulator

    emulator = ErpNextEmulator(version=15, timezone="Asia/Kolkata")
    emulator.api_key, emulator.api_secret = ERPNEXT_DEMO["api_key"], ERPNEXT_DEMO["api_secret"]
    emulator.seed_employees(employees)

    def section(url: str) -> dict[str, Any]:
        return {
            "plugin": "erpnext", "url": url, "api_key": ERPNEXT_DEMO["api_key"],
            "api_secret": f"${{ERPNEXT_API_SECRET:-{ERPNEXT_DEMO['api_secret']}}}",
            "timezone": emulator.zone.key, "employee_fieldname": "attendance_device_id",
        }  # fmt: skip

    notes = [f"Frappe HR 15; the site's time zone is {emulator.zone.key} (ERPNext keeps one zone)"]
    return Trial("erpnext", emulator, emulator.app, section, notes, _no_delay())


def _salesforce(employees: Sequence[Employee], keys: Path) -> Trial:
    from punchbridge.testing.emulators.salesforce import SalesforceEmulator, SalesforceLimits, generate_jwt_key

    key_pem, certificate = generate_jwt_key("punchbridge-emulator")
    key_path = _write_key(keys, "salesforce.key", key_pem)
    emulator = SalesforceEmulator(certificate=certificate, limits=SalesforceLimits.lifted())
    emulator.client_id = SALESFORCE_DEMO_CLIENT
    emulator.seed_employees(employees)

    def section(url: str) -> dict[str, Any]:
        return {"plugin": "salesforce", **emulator.plugin_settings(url, private_key=str(key_path))}

    notes = [f"the connected app's JWT signing key (made now, for this emulator only): {key_path}"]
    return Trial("salesforce", emulator, emulator.app, section, notes, _no_delay())


def _successfactors(employees: Sequence[Employee], keys: Path) -> Trial:
    from punchbridge.testing.emulators.sap import SapEmulator, SapLimits, make_credentials

    emulator = SapEmulator(credentials=make_credentials("punchbridge-emulator"), limits=SapLimits.lifted())
    emulator.client_id = SUCCESSFACTORS_DEMO_CLIENT
    emulator.seed_employees(employees)
    keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    files = emulator.credentials.write(keys, "successfactors")

    def section(url: str) -> dict[str, Any]:
        # No timezone: SuccessFactors keeps each user's own (EmpJob), as for a customer on two sites.
        return {
            "plugin": "sap_successfactors", "api_server": url, "company_id": emulator.company_id,
            "client_id": emulator.client_id, "user_id": emulator.api_user,
            "private_key": str(files["private_key"]), "certificate": str(files["certificate"]),
            "time_type": "ATTENDANCE",
        }  # fmt: skip

    notes = [
        f"the OAuth client's SAML signing key and certificate (made now, for this emulator only): {keys}",
        "each user's EmpJob keeps their site's time zone",
    ]
    return Trial("successfactors", emulator, emulator.app, section, notes, _no_delay())


def _write_key(folder: Path, name: str, pem: bytes) -> Path:
    """Write a private key readable by its owner only (the plugins refuse a key others may read)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    path.unlink(missing_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(pem)
    return path
