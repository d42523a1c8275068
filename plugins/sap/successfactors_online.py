"""`punchbridge validate --online` for `sap_successfactors`: log in and read, writing nothing.

Three checks, each reported on its own so one failure does not hide the others:

1. **token**: a SAML-bearer access token for the target's user (and, when `time_events.user_id` or
   `client_id` name another identity, for that one too: SAP KBA 3146142 binds the terminal client to
   the technical user TECHNICAL_USER_CICOTERMINAL_9D3F8AC1).
2. **read EmpJob**: one row of `EmpJob` (`$top=1`), which employee pull and every mapping by userId
   rely on; a refusal names the OData API permissions the user needs.
3. **Time Events API reachable** (unless `send: external_time_data`): a GET of the API's path with
   the events identity's token. The API takes only POST, so a server that knows the path answers
   405 Method Not Allowed (or 400 for the missing body); 404 means the path setting is wrong, 401
   or 403 that the token's user may not send time events. That reading of the statuses is ours (SAP
   documents only the POST): a status other than these is reported as it came.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from punchbridge.plugin_api import OnlineCheck, TargetError
from punchbridge.plugins.sap.successfactors_client import Identity

if TYPE_CHECKING:
    from punchbridge.plugins.sap.successfactors import SuccessFactorsTarget

__all__ = ["check_online"]

#: Statuses of a GET on the POST-only Time Events API that show the server knows the path.
REACHABLE = frozenset({200, 400, 405})


def _token(target: SuccessFactorsTarget, identity: Identity) -> OnlineCheck:
    what = f"token (SAML bearer) for user {identity.user_id}"
    try:
        target.client.token(None, identity)
    except TargetError as exc:
        return OnlineCheck(what, False, str(exc))
    return OnlineCheck(what, True)


def _empjob(target: SuccessFactorsTarget) -> OnlineCheck:
    what = "read EmpJob (one row)"
    settings = target.settings
    try:
        body = target.client.call(
            "read EmpJob", "GET", settings.odata_url + "/EmpJob", params={"$format": "json", "$top": "1"}
        )
    except TargetError as exc:
        return OnlineCheck(what, False, str(exc))
    data = body.get("d")
    rows = data.get("results") if isinstance(data, dict) else data
    count = len(rows) if isinstance(rows, list) else 0
    return OnlineCheck(what, True, "" if count else "EmpJob answered no row: does the API user see any employee?")


def _time_events(target: SuccessFactorsTarget) -> OnlineCheck:
    settings = target.settings
    what = f"Time Events API {settings.time_events.path} reachable"
    client = target.client
    try:
        response = client.response("Time Events API check", "GET", settings.time_events_url,
                                   identity=client.event_identity)  # fmt: skip
    except TargetError as exc:
        return OnlineCheck(what, False, str(exc))
    status = response.status_code
    if status in REACHABLE:
        return OnlineCheck(what, True, f"HTTP {status} to a GET (the API takes POST only)")
    user = client.event_identity.user_id
    if status in (401, 403):
        message = (
            f"HTTP {status}: user {user} may not send time events; SAP KBA 3146142: the OAuth client is bound to the "
            "technical user TECHNICAL_USER_CICOTERMINAL_9D3F8AC1 (set time_events.client_id and time_events.user_id)"
        )
    elif status == 404:
        message = "HTTP 404: no such path; check time_events.path (and that Clock In Clock Out is enabled)"
    else:
        message = f"HTTP {status}, not an answer this check knows"
    optional = settings.send == "auto"
    if optional:
        message += "; needed only when the mapping sends clock events (an `intervals` column)"
    return OnlineCheck(what, optional, message, warning=optional)


def check_online(target: SuccessFactorsTarget) -> list[OnlineCheck]:
    """The checks of the module docstring, in order; the later ones only once a token was had."""
    try:
        client = target.client
    except TargetError as exc:
        return [OnlineCheck("key and certificate", False, str(exc))]
    identities = [client.identity] + ([client.event_identity] if client.event_identity != client.identity else [])
    checks = [_token(target, identity) for identity in identities]
    if not checks[0].ok:
        return checks
    checks.append(_empjob(target))
    if target.settings.send != "external_time_data" and all(check.ok for check in checks[: len(identities)]):
        checks.append(_time_events(target))
    return checks
