"""Bulk API 2.0 ingest jobs of the Salesforce emulator: create, upload one CSV, close, poll, results.

A job is created `Open` (`upsert` by an external id field, CSV with commas), takes one CSV upload
(`Content-Type: text/csv`; its line ending must be the job's), moves to `UploadComplete`, shows
`InProgress` for `bulk_polls_in_progress` status reads, then runs its rows and ends `JobComplete` or
`Failed`. Rows are written through the org's own `write` (server.py), so they are judged as upserts are.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.responses import Response

from punchbridge.testing.emulators.salesforce.schema import (
    RecordError,
    SalesforceLimits,
    SfError,
    SObjectSchema,
    read_value,
)

__all__ = ["BulkJob", "BulkJobs", "external_field"]

#: Upsert one record by an external id field: (Id, created, the record before); RecordError when refused.
Write = Callable[[SObjectSchema, str, dict[str, Any]], tuple[str, bool, dict[str, Any] | None]]


@dataclass
class BulkJob:
    """One ingest job and what became of its rows."""

    id: str
    object: str
    operation: str
    external_id: str | None
    line_ending: str
    created: str
    state: str = "Open"
    data: str | None = None
    polls: int = 0
    error: str = ""
    header: list[str] = field(default_factory=list)
    succeeded: list[tuple[str, bool, list[str]]] = field(default_factory=list)
    failed: list[tuple[str, list[str]]] = field(default_factory=list)


def external_field(schema: SObjectSchema, external: str) -> None:
    """Refuse (400 INVALID_FIELD) a field that is not an external id of the object."""
    spec = schema.spec(external)
    if spec is None or not spec.external_id:
        raise SfError(
            400,
            "INVALID_FIELD",
            f"Field name provided, {external} is not an External ID or indexed field for {schema.name}",
        )


class BulkJobs:
    """The org's ingest jobs (`jobs`, by id); calls come in under the emulator's lock."""

    def __init__(
        self,
        schemas: Mapping[str, SObjectSchema],
        limits: Callable[[], SalesforceLimits],
        write: Write,
        new_id: Callable[[str], str],
        now: Callable[[], datetime],
    ) -> None:
        self.jobs: dict[str, BulkJob] = {}
        self.schemas, self._limits = schemas, limits  # read at each call: tests change the limits
        self._write, self._new_id, self._now = write, new_id, now

    def job(self, job_id: str) -> BulkJob:
        """The job `job_id` (404 when there is none)."""
        job = self.jobs.get(job_id)
        if job is None:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def info(self, job: BulkJob, version: str) -> dict[str, Any]:
        """The job as Salesforce describes it (JobInfo); counts once it is done."""
        info: dict[str, Any] = {
            "id": job.id,
            "operation": job.operation,
            "object": job.object,
            "createdDate": job.created,
            "state": job.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(version),
            "contentUrl": f"services/data/v{version}.0/jobs/ingest/{job.id}/batches",
            "lineEnding": job.line_ending,
            "columnDelimiter": "COMMA",
        }
        if job.external_id:
            info["externalIdFieldName"] = job.external_id
        if job.state in ("JobComplete", "Failed"):
            info["numberRecordsProcessed"] = len(job.succeeded) + len(job.failed)
            info["numberRecordsFailed"] = len(job.failed)
        if job.error:
            info["errorMessage"] = job.error
        return info

    def create(self, version: str, body: bytes) -> dict[str, Any]:
        """Create an `Open` upsert job from its JSON definition (400 INVALIDJOB when Salesforce would refuse it)."""
        try:
            spec = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise SfError(400, "INVALIDJOB", "The job definition is not JSON") from None
        if not isinstance(spec, dict):
            raise SfError(400, "INVALIDJOB", "The job definition must be a JSON object")
        operation = spec.get("operation")
        if operation != "upsert":
            raise SfError(400, "INVALIDJOB", f"InvalidJob : Invalid operation: {operation}")
        if spec.get("contentType", "CSV") != "CSV" or spec.get("columnDelimiter", "COMMA") != "COMMA":
            raise SfError(400, "INVALIDJOB", "InvalidJob : only CSV with COMMA delimiters is supported here")
        schema = self.schemas.get(str(spec.get("object")))
        if schema is None:
            raise SfError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {spec.get('object')}")
        external = spec.get("externalIdFieldName")
        if operation == "upsert":
            if not isinstance(external, str):
                raise SfError(400, "INVALIDJOB", "InvalidJob : External ID was blank for upsert")
            try:
                external_field(schema, external)
            except SfError as error:
                raise SfError(400, "INVALIDJOB", f"InvalidJob : {error.message}") from None
        ending = spec.get("lineEnding", "LF")
        if ending not in ("LF", "CRLF"):
            raise SfError(400, "INVALIDJOB", f"InvalidJob : Invalid line ending: {ending}")
        job = BulkJob(self._new_id("750"), schema.name, operation, external, ending, self._now().isoformat())
        self.jobs[job.id] = job
        return self.info(job, version)

    def upload(self, job_id: str, content_type: str, body: bytes) -> tuple[int, Any]:
        """Take the job's one CSV upload (201)."""
        job = self.job(job_id)
        if job.state != "Open":
            raise SfError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: data goes only to Open jobs")
        if job.data is not None:
            raise SfError(409, "INVALIDJOBSTATE", "A job takes one upload of data: create another job for more")
        if not content_type.startswith("text/csv"):
            raise SfError(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be text/csv")
        if len(body) > self._limits().bulk_upload_bytes:
            raise SfError(413, "REQUEST_ENTITY_TOO_LARGE", "Request body exceeds the maximum upload size")
        try:
            job.data = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SfError(400, "INVALIDCONTENT", "The data is not UTF-8") from None
        return 201, Response(status_code=201)

    def set_state(self, job_id: str, version: str, body: bytes) -> dict[str, Any]:
        """Close (`UploadComplete`) or abort the job."""
        job = self.job(job_id)
        try:
            wanted = json.loads(body).get("state")
        except (ValueError, AttributeError, UnicodeDecodeError):
            raise SfError(400, "INVALIDJOB", 'The body must be {"state": ...}') from None
        if wanted == "UploadComplete" and job.state == "Open":
            job.state = "UploadComplete"
            if not job.data:
                job.state, job.error = "Failed", "InvalidBatch : No data uploaded"
        elif wanted == "Aborted" and job.state in ("Open", "UploadComplete", "InProgress"):
            job.state = "Aborted"
        else:
            raise SfError(400, "INVALIDJOBSTATE", f"Job {job.id} cannot go from {job.state} to {wanted}")
        return self.info(job, version)

    def status(self, job_id: str, version: str) -> dict[str, Any]:
        """Read the job: `InProgress` for the first polls, then its rows run and it is done."""
        job = self.job(job_id)
        if job.state in ("UploadComplete", "InProgress"):
            job.polls += 1
            if job.polls <= self._limits().bulk_polls_in_progress:
                job.state = "InProgress"
            else:
                self._run(job)
        return self.info(job, version)

    def delete(self, job_id: str) -> Response:
        """Delete a finished job (204)."""
        job = self.job(job_id)
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            raise SfError(400, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: only finished jobs can be deleted")
        del self.jobs[job_id]
        return Response(status_code=204)

    def _run(self, job: BulkJob) -> None:
        """Run the job's rows (see the module docstring); the job ends JobComplete or Failed."""
        text = job.data or ""
        if job.line_ending == "LF" and "\r\n" in text:
            job.state = "Failed"
            job.error = "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
            return
        rows = list(csv.reader(io.StringIO(text, newline="")))
        if not rows:
            job.state, job.error = "Failed", "InvalidBatch : No data uploaded"
            return
        schema = self.schemas[job.object]
        job.header = rows[0]
        unknown = [name for name in job.header if schema.spec(name) is None]
        if unknown:
            job.state, job.error = "Failed", f"InvalidBatch : Field name not found : {unknown[0]}"
            return
        external = job.external_id or ""
        column = job.header.index(external) if external in job.header else None
        keys = Counter(row[column] for row in rows[1:] if column is not None and len(row) > column)
        for row in rows[1:]:
            if not row:
                continue
            try:
                if len(row) != len(job.header):
                    raise RecordError("INVALID_FIELD", f"The row has {len(row)} values for {len(job.header)} columns")
                values = self._csv_values(schema, dict(zip(job.header, row, strict=True)))
                if keys.get(values.get(external, ""), 0) > 1:
                    raise RecordError("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {values[external]}")
                record_id, created, _ = self._write(schema, external, values)
                job.succeeded.append((record_id, created, row))
            except RecordError as error:
                fields = ",".join(error.fields)
                job.failed.append((f"{error.code}:{error.message}:{fields} --", row))
        job.state = "JobComplete"

    def _csv_values(self, schema: SObjectSchema, cells: dict[str, str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, text in cells.items():
            if text == "":
                continue  # an empty cell leaves the field as it is
            if text == "#N/A":
                values[name] = None
                continue
            spec = schema.spec(name)
            assert spec is not None
            try:
                values[name] = read_value(spec, text)
            except ValueError:
                raise RecordError(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type: {text[:80]}", [name]
                ) from None
        return values

    def results(self, job_id: str, kind: str) -> Response:
        """successfulResults, failedResults or unprocessedrecords of a finished job, as CSV."""
        job = self.job(job_id)
        if job.state not in ("JobComplete", "Failed", "Aborted"):
            raise SfError(409, "INVALIDJOBSTATE", f"Job {job.id} is {job.state}: results come when it is done")
        out = io.StringIO()
        writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
        if kind == "successfulResults":
            writer.writerow(["sf__Id", "sf__Created", *job.header])
            for record_id, created, row in job.succeeded:
                writer.writerow([record_id, "true" if created else "false", *row])
        elif kind == "failedResults":
            writer.writerow(["sf__Id", "sf__Error", *job.header])
            for error, row in job.failed:
                writer.writerow(["", error, *row])
        else:
            rows = list(csv.reader(io.StringIO(job.data or "", newline=""))) if job.state != "JobComplete" else []
            for row in rows:
                writer.writerow(row)
        return Response(out.getvalue(), 200, media_type="text/csv")
