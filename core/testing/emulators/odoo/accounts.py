"""Users of the emulated database and their API keys: who a call runs as, and whether its key still works.

Pure over the users table. What Odoo does, by version:

- an API key works as the user's password in `common.authenticate(db, login, key, {})` (the uid, or
  False: `exp_authenticate` catches AccessDenied, odoo/service/common.py) and in each
  `object.execute_kw` (AccessDenied otherwise), and as the JSON-2 bearer token (401 "Invalid apikey",
  odoo/addons/base/models/ir_http.py `_auth_method_bearer`);
- from 18.0 a key may expire: `res.users.apikeys._check_credentials` only matches rows with
  `expiration_date IS NULL OR expiration_date >= now() at time zone 'utc'`, and the autovacuum
  `_gc_user_apikeys` deletes expired rows (odoo/addons/base/models/res_users.py, 18.0-series). So an
  expired key is refused exactly like a wrong one: nothing in the answer says "expired";
- a user reads their own `api_key_ids` (in SELF_READABLE_FIELDS, 18.0) and their own keys'
  `name`, `scope`, `create_date`, `expiration_date`. That the record rule lets a non-admin user read
  their own `res.users.apikeys` rows is inferred from the Preferences screen listing them; the
  access line itself was not read (unconfirmed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = [
    "EXPIRY_SINCE",
    "INTEGRATION",
    "KIOSK",
    "OFFICER",
    "SUPERUSER",
    "OdooUser",
    "api_key_rows",
    "key_works",
    "standard_users",
    "user_rows",
]

#: `SUPERUSER_ID` (odoo/__init__.py): the user crons run as, shown as OdooBot.
SUPERUSER = 1
#: The integration user punchbridge logs in as (the emulator's own choice of id).
INTEGRATION = 2
#: An Attendances officer who enters and corrects attendance by hand in the backend.
OFFICER = 3
#: The public user the kiosk mode runs as (auth="public" controllers; the id is this emulator's).
KIOSK = 4
#: The first version whose API keys can expire (odoo/odoo#178558 "[IMP] base: add expiration date on API keys").
EXPIRY_SINCE = 18


@dataclass
class OdooUser:
    """A user of the emulated database: uid, login, the one API key that works as its password, and its expiry."""

    uid: int
    login: str
    api_key: str | None
    name: str = ""
    tz: str = "UTC"
    #: When the API key stops working (naive UTC), from 18.0 on; None: a persistent key.
    api_key_expires: datetime | None = None
    api_key_name: str = "punchbridge"
    api_key_created: datetime | None = None


def standard_users(login: str, api_key: str) -> dict[int, OdooUser]:
    """The users every emulated database starts with: OdooBot, the integration user, an officer, the kiosk."""
    return {
        SUPERUSER: OdooUser(SUPERUSER, "__system__", None, "OdooBot"),
        INTEGRATION: OdooUser(INTEGRATION, login, api_key, "punchbridge integration"),
        OFFICER: OdooUser(OFFICER, "hr.officer@example.com", "officer-key", "HR Officer", tz="Asia/Kolkata"),
        KIOSK: OdooUser(KIOSK, "public", None, "Public user"),
    }


def key_works(user: OdooUser, key: Any, major: int, moment: datetime) -> bool:
    """Whether `key` is `user`'s API key and, from 18.0, not past its expiration date at `moment`."""
    if user.api_key is None or not isinstance(key, str) or key != user.api_key:
        return False
    expires = user.api_key_expires
    return major < EXPIRY_SINCE or expires is None or expires >= moment


def user_rows(users: Iterable[OdooUser], major: int) -> dict[int, dict[str, Any]]:
    """`res.users` as records (the fields the schema names)."""
    rows = {}
    for user in users:
        row: dict[str, Any] = {
            "id": user.uid,
            "name": user.name or user.login,
            "login": user.login,
            "tz": user.tz,
            "active": user.uid != SUPERUSER,
            "create_uid": SUPERUSER,
            "write_uid": SUPERUSER,
            "create_date": None,
            "write_date": None,
        }
        if major >= EXPIRY_SINCE:
            row["api_key_ids"] = [user.uid] if user.api_key is not None else []
        rows[user.uid] = row
    return rows


def api_key_rows(users: Iterable[OdooUser], reader: int) -> dict[int, dict[str, Any]]:
    """`res.users.apikeys` as `reader` may read them: their own keys only (one per user here, id = uid)."""
    return {
        user.uid: {
            "id": user.uid,
            "name": user.api_key_name,
            "user_id": user.uid,
            "scope": None,  # a global key: what RPC and JSON-2 accept ("'rpc' scope does not really exist")
            "create_date": user.api_key_created,
            "expiration_date": user.api_key_expires,
        }
        for user in users
        if user.uid == reader and user.api_key is not None
    }
