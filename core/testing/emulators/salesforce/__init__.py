"""A Salesforce emulator: OAuth, sObject Collections upsert, Bulk API 2.0 ingest, SOQL and describe, with limits.

    key_pem, certificate = generate_jwt_key()         # a fresh RSA key and its certificate (never committed)
    emulator = SalesforceEmulator(certificate=certificate)
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url, private_key=key_path)   # a `salesforce` target

One base URL serves both the login host and the org's instance. What it enforces, so a plugin that
ignores a rule fails here first:

- `POST /services/oauth2/token`: the JWT bearer grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`,
  an RS256 assertion verified by PyJWT with the connected app's certificate; `iss` the consumer
  key, `sub` the integration user, `aud` the login audience, `exp` in the future on the emulator's
  clock and at most `jwt_max_lifetime` ahead) and the client-credentials grant. Refusals are HTTP 400 `{"error",
  "error_description"}` as Salesforce words them (`invalid_client_id`, `invalid_client`,
  `invalid_grant`). Replies carry `access_token` and `instance_url`, no `expires_in`, as Salesforce's.
- Every `/services/data/vXX.X/...` call needs `Authorization: Bearer {token}`; an unknown or expired
  session gets 401 `INVALID_SESSION_ID`. Each call counts against the org's API requests over a
  rolling 24 hours (`daily_api_requests`); past it, 403 `REQUEST_LIMIT_EXCEEDED` ("TotalRequests Limit
  exceeded."). Every reply says the usage in `Sforce-Limit-Info: api-usage=USED/MAX`.
- `PATCH .../composite/sobjects/{Object}/{ExternalIdField}` upserts at most 200 records (more: 400
  `EXCEEDED_ID_LIMIT`); the field must be an external id of the object (else 400 `INVALID_FIELD`); a
  value that cannot be read as its field's type fails the whole call (400 `JSON_PARSER_ERROR`).
  Each record is judged alone (HTTP 200, one result each, in order, `created` true or false):
  `INVALID_FIELD` (no such field), `INVALID_FIELD_FOR_INSERT_UPDATE` (a system field),
  `MISSING_ARGUMENT` (no external id), `DUPLICATE_EXTERNAL_ID` (the same external id twice in one
  call: every copy fails), `STRING_TOO_LONG`, `REQUIRED_FIELD_MISSING`, and
  `FIELD_CUSTOM_VALIDATION_EXCEPTION` for the refusals `refuse_employee` sets up.
- Bulk API 2.0 ingest (`/jobs/ingest`): a job is created `Open` (`upsert` by an external id field,
  CSV with commas), takes one CSV upload (`Content-Type: text/csv`; its line ending must
  be the job's), moves to `UploadComplete`, then shows `InProgress` for `bulk_polls_in_progress`
  status reads and ends `JobComplete` (rows judged as above; `#N/A` sets a field to null, an empty
  cell leaves it alone) or `Failed` (a header naming an unknown field, no data, a wrong line ending).
  `successfulResults/` (`sf__Id`, `sf__Created`) and `failedResults/` (`sf__Id`, `sf__Error`) give
  the rows back with their original columns once the job is done.
- `GET .../query?q=` runs a subset of SOQL (`SELECT f, ... FROM Obj [WHERE c AND c ...] [ORDER BY f]
  [LIMIT n]`; conditions `=, !=, <, <=, >, >=, IN (...), NOT IN (...)` on literals: quoted text, numbers,
  true/false/null, unquoted date and datetime literals), `batchSize` 200-2000 from
  `Sforce-Query-Options` (default 2000), and pages through `nextRecordsUrl`. A quoted value for a date
  field, an unknown field or object is a 400 (`INVALID_QUERY_FILTER_OPERATOR`, `INVALID_FIELD`,
  `INVALID_TYPE`), as in Salesforce.
- `GET .../sobjects/{Object}/describe` and `GET .../limits` answer as Salesforce does (the parts a
  client reads; describe's object-level `createable`, `updateable` and `queryable` follow `deny`).
- A text field set to `""` is kept blank and reads back null; numbers are kept with every decimal sent
  (the field's decimal places are not applied to API writes: Salesforce Help 000387302); date-times
  are kept as UTC instants to the second.
"""

from punchbridge.testing.emulators.salesforce.oauth import JWT_GRANT, generate_jwt_key
from punchbridge.testing.emulators.salesforce.schema import (
    ATTENDANCE_DAY,
    USER,
    FieldSpec,
    SalesforceLimits,
    SObjectSchema,
)
from punchbridge.testing.emulators.salesforce.server import SalesforceEmulator

__all__ = [
    "ATTENDANCE_DAY",
    "JWT_GRANT",
    "USER",
    "FieldSpec",
    "SObjectSchema",
    "SalesforceEmulator",
    "SalesforceLimits",
    "generate_jwt_key",
]
