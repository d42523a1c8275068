"""`punchbridge validate --online` for Odoo: log in, check the rights punchbridge needs, and the API key's expiry.

Read-only: nothing is created or written. What Odoo lets a client ask without writing:

- rights: `check_access_rights(operation, raise_exception=False)` before 18.0, `has_access(operation)`
  from 18.0, which deprecates the former ("check_access_rights() is deprecated since 18.0; use
  check_access() instead", odoo/models.py). Which method a version keeps is inferred, not read in a
  release branch: `RIGHTS_METHOD_SINCE` holds the switch;
- the key's expiry, from 18.0 (odoo/odoo#178558): the user reads their own `api_key_ids`
  (SELF_READABLE_FIELDS) and the keys' `expiration_date` (odoo/addons/base/models/res_users.py).
  Odoo says nothing of which key a call used, so with several keys the check can only say when
  each expires. An expired key is refused exactly like a wrong one (`_check_credentials` skips it,
  the autovacuum deletes it): the login failure says so;
- the external API itself needs a plan that allows it: "Access to data via the external API is only
  available on Custom Odoo pricing plans" (odoo/documentation, developer/reference/external_api.rst):
  a refused login on Odoo Online may be the plan, which the message names.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from punchbridge.plugin_api import CredentialsError, OnlineCheck, TargetError
from punchbridge.plugins.odoo import replies

__all__ = ["EXPIRY_WARNING", "KEY_EXPIRY_SINCE", "RIGHTS_METHOD_SINCE", "online_checks"]

#: Warn when the API key expires within this long.
EXPIRY_WARNING = timedelta(days=14)
#: The first version whose API keys expire.
KEY_EXPIRY_SINCE = 18
#: The first version asked with `has_access` rather than `check_access_rights` (inferred; see the module docstring).
RIGHTS_METHOD_SINCE = 18
_NEEDED = (
    ("hr.employee", "read", "read hr.employee"),
    ("hr.attendance", "read", "read hr.attendance"),
    ("hr.attendance", "create", "create hr.attendance"),
    ("hr.attendance", "write", "write hr.attendance"),
    ("hr.attendance", "unlink", "delete hr.attendance"),
)
_RIGHTS = "give the Odoo user the Attendances / Officer (Manage all attendances) right and Employees read access"

Call = Callable[..., Any]


def login_failure(exc: TargetError) -> OnlineCheck:
    """The login check for an error of `open()`: Odoo's words, and what a refused key can mean."""
    message = str(exc)
    if isinstance(exc, CredentialsError):
        message += (
            ". An expired API key (Odoo 18 and later; keys of non-admin users last at most three months) is "
            "refused exactly like a wrong one: if this key worked before, create a new one (Preferences > Account "
            "Security > New API Key) and update api_key. On Odoo Online the external API also needs a Custom plan"
        )
    return OnlineCheck("login", False, message)


def online_checks(call: Call, major: int, uid: int | None, now: datetime | None = None) -> list[OnlineCheck]:
    """The checks after a successful login, on Odoo `major` as user `uid` (see the module docstring)."""
    checks = [_rights(call, major, model, operation, what) for model, operation, what in _NEEDED]
    checks.append(_api_key(call, major, uid, now or datetime.now(UTC)))
    return checks


def _rights(call: Call, major: int, model: str, operation: str, what: str) -> OnlineCheck:
    try:
        if operation == "read":  # reading is checked by reading: one record, one field
            call(model, "search_read", {"domain": [], "fields": ["id"], "limit": 1})
            return OnlineCheck(what, True)
        if major >= RIGHTS_METHOD_SINCE:
            allowed = call(model, "has_access", {"operation": operation}, ids=[])
        else:
            allowed = call(model, "check_access_rights", {"operation": operation, "raise_exception": False})
    except TargetError as exc:
        if operation == "read":
            return OnlineCheck(what, False, f"{exc}; {_RIGHTS}")
        return OnlineCheck(what, True, f"Odoo does not say without writing ({exc}); the first sync will")
    if allowed is True:
        return OnlineCheck(what, True)
    return OnlineCheck(what, False, f"Odoo says the user may not {operation} {model}: {_RIGHTS}")


def _api_key(call: Call, major: int, uid: int | None, now: datetime) -> OnlineCheck:
    what = "API key expiry"
    if major < KEY_EXPIRY_SINCE:
        return OnlineCheck(what, True, f"Odoo {major} API keys do not expire")
    try:
        users = replies.rows(call("res.users", "read", {"fields": ["api_key_ids"]}, ids=[uid]), what, "res.users.read")
        ids = users[0].get("api_key_ids") if users else None
        if not isinstance(ids, list) or not ids:
            return OnlineCheck(what, True, "Odoo shows the user no API key; see Preferences > Account Security")
        fields = {"fields": ["name", "expiration_date"]}
        keys = replies.rows(call("res.users.apikeys", "read", fields, ids=ids), what, "res.users.apikeys.read")
    except TargetError as exc:
        return OnlineCheck(what, True, f"Odoo does not let this user read its keys ({exc}); check Preferences")
    expiries = []
    for key in keys:
        expires = replies.reply_time(key, "expiration_date", what)
        name = replies.reply_text(key, "name", what) or f"key {key['id']}"
        expiries.append((expires.replace(tzinfo=UTC) if expires is not None else None, name))
    return _expiry_check(what, expiries, now)


def _expiry_check(what: str, expiries: list[tuple[datetime | None, str]], now: datetime) -> OnlineCheck:
    """Warn when the key punchbridge uses expires soon: with one key, that one; with several, only if all do."""
    dated = sorted((expires, name) for expires, name in expiries if expires is not None)
    if len(dated) < len(expiries):
        if not dated:
            return OnlineCheck(what, True, "the API key does not expire (a persistent key)")
        return OnlineCheck(what, True, f"one of the user's keys does not expire; {_when(dated[0], now)}")
    soonest, latest = dated[0], dated[-1]
    if latest[0] is not None and latest[0] - now <= EXPIRY_WARNING:
        which = "the API key" if len(dated) == 1 else f"every API key of the user (the latest, {latest[1]!r})"
        return OnlineCheck(
            what,
            True,
            f"{which} expires {_in(latest[0], now)}: create a new key (Preferences > Account Security > New API Key) "
            "and update api_key before then, or Odoo refuses every sync",
            warning=True,
        )
    return OnlineCheck(what, True, _when(soonest, now))


def _when(key: tuple[datetime | None, str], now: datetime) -> str:
    expires, name = key
    assert expires is not None
    return f"key {name!r} expires {_in(expires, now)}"


def _in(expires: datetime, now: datetime) -> str:
    days = (expires - now).days
    stamp = expires.strftime("%Y-%m-%d %H:%M UTC")
    return f"on {stamp} (already)" if expires <= now else f"on {stamp}, in {days} day{'s' if days != 1 else ''}"
