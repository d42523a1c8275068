"""A Zoho People emulator: OAuth, attendance punches, employee records and read-back, with Zoho's limits.

    emulator = ZohoEmulator(clock=ManualClock())
    emulator.seed_employees([Employee("T-1", "Asha Rao", email="asha@example.com", badge="77")])
    with serve(emulator.app) as server:
        settings = emulator.plugin_settings(server.url)     # for the `zoho_people` target

The emulator serves the accounts host and the People API on one base URL. It enforces what
Zoho documents for its API, so a plugin that breaks a rule fails here first:

- `POST /oauth/v2/token` (refresh-token grant): wrong client or secret gives `{"error": "invalid_client"}`,
  an unknown refresh token `{"error": "invalid_code"}`; at most `ZohoLimits.token_mints` tokens per
  refresh token per 10 minutes, then `{"error": "Access Denied", "error_description": "You have made
  too many requests continuously..."}` (HTTP 400). Tokens live 3600 s by the emulator's clock.
- Every API call needs `Authorization: Zoho-oauthtoken {token}`; a missing, unknown or expired token
  gets HTTP 401 with error code 7202 (`INVALID_OAUTHTOKEN_CODE`).
- Per-minute limits per API (bulkImport 10, attendance 100, getAttendanceEntries 100, getRecords 400),
  counted over any sliding 60 s: the call past the limit starts a lock (5 minutes; 10 for
  getAttendanceEntries, as Zoho's page says) during which every call of that API is refused with code
  7209 (`THROTTLE_CODE`); `locks` counts the locks. A daily cap over all API calls (5,000 by default)
  refuses further calls that day (UTC, by the clock) with code 7213 (`DAILY_LIMIT_CODE`, *unconfirmed*).
- Errors come in the body (`{"response": {"status": 1, "message": "Error occurred", "errors": {"code",
  "message"}}}`), with HTTP 200 unless said otherwise (`throttle_http_status` picks 200 or 429 for 7209).

`POST /people/api/attendance/bulkImport` (form fields `data`, `dateFormat`) takes at most 200 rows, each
one identifier (`empId`, `emailId` or `mapId`; the first given in that order is used) and exactly one
of `checkIn`/`checkOut`, parsed strictly with `dateFormat` (a Java pattern; default the organisation's
`dd/MM/yyyy HH:mm:ss`). Zoho documents no reply, so `bulk_reply` picks one of the shapes known from
clients (`replies` module): `success` (the default, seen in production) answers `{"response":
"success"}` and fails a call with a bad row as a whole (HTTP 400, code 7200, nothing stored);
`envelope` answers a status-0 envelope that says nothing per row (bad rows dropped, `errorDates`);
`rows` answers one result per row:

    {"response": {"status": 0, "message": "...", "result": [
        {"index": 0, "status": "success"},
        {"index": 1, "status": "failure", "code": 7048, "message": "No such employee: empId T-9"}]}}

Punches are a set per employee (a punch sent twice is held once), but every employee-day a call
writes counts one `delivery`, so a resent record shows. A punch belongs to the attendance day of its
check-in; a check-out within 24 hours of an open check-in belongs to that check-in's day (a night
shift stays one day).

`GET /people/api/attendance/getAttendanceEntries?date=&empId=|emailId=|mapId=[&dateFormat=]` answers
as Zoho's documentation shows: `firstIn`, `lastOut` (`yyyy-MM-dd HH:mm:ss`), `totalHrs` (`HH:MM` of
the complete pairs) and `entries` whose `checkIn`/`checkOut` read like `03-Mar-2023 - 09:00 AM`
(12-hour, minutes only); `date` is read in `dateFormat`'s date part (default the organisation's).
`GET /people/api/forms/employee/getRecords?sIndex=&limit=[&modifiedtime=]` pages the employees
(1-based, `limit` at most 200 else code 7021, past the last record code 7024), each record as
`{"<recordId>": [{"EmployeeID", "EmailID", "FirstName", "LastName", "Employeestatus", "Department",
"MapperID", "LocationName", "ModifiedTime"}]}` (`MapperID`: the biometric id attendance `mapId`
matches; `ModifiedTime`: epoch milliseconds as text); `modifiedtime` keeps those modified after it.
`POST /people/api/attendance` stores one punch (either or both of `checkIn`, `checkOut`).

Modules: `server` (ZohoEmulator), `limits` (the API's names, error codes and limits, Zoho's error
reply), `replies` (bulkImport's reply shapes, getAttendanceEntries' format), `book` (the punches
held), `formats` (Java date patterns and the attendance day view) and `clocks` (clocks for tests
and a loopback HTTP protocol without Nagle's delay).
"""

from punchbridge.testing.emulators.zoho.clocks import ManualClock, NoDelayHttp, ScaledClock
from punchbridge.testing.emulators.zoho.formats import DayView, JavaDateFormat
from punchbridge.testing.emulators.zoho.limits import (
    BULK_IMPORT,
    DAILY_LIMIT_CODE,
    EMPLOYEE_RECORDS,
    INVALID_OAUTHTOKEN_CODE,
    NO_RECORDS_CODE,
    READ_BACK,
    SINGLE_PUNCH,
    THROTTLE_CODE,
    ZohoLimits,
)
from punchbridge.testing.emulators.zoho.replies import API_INVOCATION_FAILED, BULK_REPLIES
from punchbridge.testing.emulators.zoho.server import ZohoEmulator

__all__ = [
    "API_INVOCATION_FAILED",
    "BULK_IMPORT",
    "BULK_REPLIES",
    "DAILY_LIMIT_CODE",
    "EMPLOYEE_RECORDS",
    "INVALID_OAUTHTOKEN_CODE",
    "NO_RECORDS_CODE",
    "READ_BACK",
    "SINGLE_PUNCH",
    "THROTTLE_CODE",
    "DayView",
    "JavaDateFormat",
    "ManualClock",
    "NoDelayHttp",
    "ScaledClock",
    "ZohoEmulator",
    "ZohoLimits",
]
