"""Bulk API 2.0 upserts for the `salesforce` target: one ingest job per batch, results matched by external id.

A job is created (`operation: upsert`, the external id field, CSV with LF line endings), its CSV is
uploaded in one request, its state set to `UploadComplete`, and its status polled until Salesforce
says `JobComplete` (or `Failed`/`Aborted`). Then `successfulResults/` and `failedResults/` give each
row back with its columns: the rows are matched to records by the external id column, since
Salesforce does not keep their order. About 6 API requests per job, however many rows.

In the CSV `#N/A` clears a field and an empty cell leaves it as it is (Bulk API's rules), so a
missing value is written `#N/A`: Salesforce then holds the same record whichever API wrote it.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from punchbridge.plugin_api import FatalTargetError, TargetError, TargetReplyError, TransientError, clip
from punchbridge.plugins.salesforce.api import SalesforceApi

log = logging.getLogger("punchbridge.plugins.salesforce")

_JOB_ID = re.compile(r"[A-Za-z0-9]{15,18}")
_FINAL = frozenset({"JobComplete", "Failed", "Aborted"})
#: The longest wait between two status polls (seconds); polls start at `poll_seconds` and grow by half.
MAX_POLL_SECONDS = 30.0


@dataclass(frozen=True)
class RowResult:
    """What Salesforce did with one row: its record id, or its error."""

    ok: bool
    record_id: str | None = None
    message: str | None = None


def csv_cell(value: Any) -> str:
    """A value as a Bulk API CSV cell: `#N/A` for nothing, `true`/`false`, plain decimal numbers."""
    if value is None or value == "":
        return "#N/A"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return format(value, "f") if "e" in text or "E" in text else text.removesuffix(".0")
    return str(value)


def bulk_upsert(
    api: SalesforceApi,
    object_name: str,
    external_field: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    *,
    poll_seconds: float,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, RowResult]:
    """Upsert `rows` (each holding `external_field` and `columns`) in one ingest job; results by external id."""
    header = [external_field, *(c for c in columns if c != external_field)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(row.get(name)) for name in header])
    jobs = f"{api.base}/jobs/ingest"
    spec = {
        "object": object_name,
        "externalIdFieldName": external_field,
        "contentType": "CSV",
        "operation": "upsert",
        "lineEnding": "LF",
        "columnDelimiter": "COMMA",
    }
    created = api.json(api.call("POST", jobs, "creating a Bulk API 2.0 job", json=spec), "creating a Bulk API 2.0 job")
    job_id = created.get("id") if isinstance(created, dict) else None
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise TargetReplyError(f"{api.where}: creating a Bulk API 2.0 job: the reply has no job id")
    what = f"Bulk API 2.0 job {job_id}"
    try:
        api.call(
            "PUT",
            f"{jobs}/{job_id}/batches",
            f"{what}: uploading {len(rows)} rows",
            ok=(201,),
            content=out.getvalue().encode("utf-8"),
            headers={"Content-Type": "text/csv"},
        )
        api.call("PATCH", f"{jobs}/{job_id}", f"{what}: closing the upload", json={"state": "UploadComplete"})
        status = _wait(api, f"{jobs}/{job_id}", what, poll_seconds, timeout, clock, sleep)
    except TargetError:
        _abort(api, f"{jobs}/{job_id}", what)
        raise
    state = status.get("state")
    if state != "JobComplete":
        said = clip(str(status.get("errorMessage") or "no error message"), 300)
        raise FatalTargetError(
            f"{api.where}: {what} ended {state}: {said}; the mapping's columns must be fields of {object_name} and "
            f"{external_field} its external id"
        )
    results: dict[str, RowResult] = {}
    for kind, reader in (("successfulResults", _succeeded), ("failedResults", _failed)):
        response = api.call("GET", f"{jobs}/{job_id}/{kind}/", f"{what}: reading {kind}")
        table = list(csv.DictReader(io.StringIO(response.text, newline="")))
        for index, line in enumerate(table):
            key = line.get(external_field)
            if key is None:
                raise TargetReplyError(f"{api.where}: {what}: {kind} row {index} has no {external_field} column")
            results[key] = reader(line, api.where, f"{what}: {kind} row {index}")
    log.info("%s: %s: %d rows, %d refused", api.where, what, len(rows), sum(1 for r in results.values() if not r.ok))
    return results


def _wait(
    api: SalesforceApi,
    path: str,
    what: str,
    poll_seconds: float,
    timeout: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    """Poll the job until it is in a final state; TransientError when it takes longer than `timeout`."""
    deadline = clock() + timeout
    pause = poll_seconds
    while True:
        sleep(pause)
        status = api.json(api.call("GET", path, f"{what}: reading its state"), what)
        state = status.get("state") if isinstance(status, dict) else None
        if state not in ("Open", "UploadComplete", "InProgress", *_FINAL):
            raise TargetReplyError(f"{api.where}: {what}: the job's state is {state!r}")
        if state in _FINAL:
            return status
        if clock() >= deadline:
            raise TransientError(
                f"{api.where}: {what} is still {state} after {timeout:g} s (bulk_timeout); it was aborted and the "
                "batch is sent again later"
            )
        pause = min(pause * 1.5, MAX_POLL_SECONDS)


def _abort(api: SalesforceApi, path: str, what: str) -> None:
    """Abort an unfinished job, best effort (an upsert sent again does no harm)."""
    try:
        api.call("PATCH", path, f"{what}: aborting it", json={"state": "Aborted"})
    except TargetError as exc:
        log.warning("%s: %s could not be aborted: %s", api.where, what, exc)


def _succeeded(line: Mapping[str, str], where: str, what: str) -> RowResult:
    record_id = line.get("sf__Id")
    if not record_id or line.get("sf__Created") not in ("true", "false"):
        raise TargetReplyError(f"{where}: {what} lacks sf__Id or sf__Created")
    return RowResult(True, record_id)


def _failed(line: Mapping[str, str], where: str, what: str) -> RowResult:
    error = line.get("sf__Error")
    if not error:
        raise TargetReplyError(f"{where}: {what} lacks sf__Error")
    # `CODE:message:fields --`, the shape Bulk API gives its errors.
    code, _, rest = error.partition(":")
    message, _, fields = rest.rpartition(":")
    fields = fields.removesuffix("--").strip()
    text = f"Salesforce: {code}: {message or rest}" + (f" (fields: {fields})" if fields else "")
    return RowResult(False, None, clip(text))
