"""How the Zoho People emulator words its attendance replies: bulkImport's shapes, getAttendanceEntries' format.

Zoho documents no reply of `bulkImport` ("no response sample in the docs":
https://www.zoho.com/people/api/attendance-bulkimport.html). The emulator answers in one of the
shapes known from clients, chosen by `ZohoEmulator(bulk_reply=...)`, so the plugin is tested against
each:

- `success` (the default): `{"response": "success"}` when every row was taken, as reported from a
  production push ("Zoho accepted it — {"response":"success"} for all 237 records") and typed by the
  WSO2 Ballerina connector (`BulkAttendance { string response?; }`). One bad row fails the whole call
  and stores nothing: HTTP 400 with the generic envelope and code 7200, "API invocation failed", which
  names no row (the same report: "a single bad record takes down every record batched with it"). A
  refusal set up with `refuse_employee` is worded with its own message.
- `envelope`: Zoho's generic v1 envelope with status 0 and no word per row (`{"response": {"status":
  0, "message": ..., "uri": ...}}`); bad rows are dropped without a word, and `errorDates` lists their
  dates, as one third-party SDK says a partial failure looks (unconfirmed). The worst case for a
  client: a success that does not say what was stored.
- `rows`: one result per row, `{"index", "status": "success"|"failure", "code", "message"}`, rows
  judged one by one (the emulator's earlier shape; no Zoho source shows it).

`getAttendanceEntries` answers at the top level (no `response` wrapper) as the documentation's sample
does (https://www.zoho.com/people/api/attendance-entries.html): `firstIn`/`lastOut` as `yyyy-MM-dd
HH:mm:ss`, `totalHrs` as `HH:MM`, and each entry's `checkIn`/`checkOut` as `dd-MMM-yyyy - hh:mm a`
(12-hour, minutes only: "03-Mar-2023 - 09:00 AM"), with `checkIn_Location` and the like ("-" when
none). Whether `dateFormat` changes these formats is not documented; the emulator keeps the sample's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from punchbridge.testing.emulators.zoho.formats import DayView, JavaDateFormat

__all__ = ["API_INVOCATION_FAILED", "BULK_REPLIES", "DAY_TIME", "ENTRY_TIME", "bulk_success", "entries_reply"]

#: The bulkImport reply shapes the emulator can answer in (see the module docstring).
BULK_REPLIES = ("success", "envelope", "rows")
#: getAttendanceEntries' formats: the day's first in and last out, and each entry's times.
DAY_TIME = JavaDateFormat("yyyy-MM-dd HH:mm:ss")
ENTRY_TIME = JavaDateFormat("dd-MMM-yyyy - hh:mm a")
#: The code Zoho answers when a bulkImport call fails as a whole (7200: "API Invocation Failure").
API_INVOCATION_FAILED = 7200


def bulk_success(shape: str, results: list[dict[str, Any]], failed_dates: list[str]) -> dict[str, Any]:
    """The body of a bulkImport call that stored its good rows, in `shape` (`success` has no bad rows)."""
    if shape == "success":
        return {"response": "success"}
    taken = sum(1 for r in results if r["status"] == "success")
    message = f"{taken} of {len(results)} records imported"
    response: dict[str, Any] = {"status": 0, "message": message, "uri": "/api/attendance/bulkImport"}
    if shape == "rows":
        response["result"] = results
    elif failed_dates:
        response["errorDates"] = sorted(set(failed_dates))
    return {"response": response}


def row_dates(row: Any, parser: JavaDateFormat) -> list[str]:
    """The date of a refused row's punch, when it can be read (for `errorDates`)."""
    text = row.get("checkIn") or row.get("checkOut") if isinstance(row, dict) else None
    try:
        return [parser.parse(text).date().isoformat()] if isinstance(text, str) else []
    except ValueError:
        return []


def entries_reply(view: DayView | None, locations: dict[datetime, str]) -> dict[str, Any]:
    """getAttendanceEntries' answer for one employee-day (`locations`: the location sent with a punch)."""
    if view is None:
        return {"firstIn": "", "lastOut": "", "totalHrs": "00:00", "entries": [], "status": 0}

    def day_time(moment: datetime | None) -> str:
        return DAY_TIME.format(moment) if moment is not None else ""

    def entry_time(moment: datetime | None) -> str:
        return ENTRY_TIME.format(moment) if moment is not None else ""

    def place(moment: datetime | None) -> str:
        return locations.get(moment, "-") if moment is not None else "-"

    minutes = view.total_minutes
    return {
        "firstIn": day_time(view.first_in),
        "firstIn_Location": place(view.first_in),
        "lastOut": day_time(view.last_out),
        "lastOut_Location": place(view.last_out),
        "totalHrs": f"{minutes // 60:02d}:{minutes % 60:02d}",
        "entries": [
            {
                "checkIn": entry_time(start),
                "checkIn_Location": place(start),
                "checkIn_Building": "-",
                "checkOut": entry_time(out),
                "checkOut_Location": place(out),
                "checkOut_Building": "-",
            }
            for start, out in view.entries
        ],
        "status": 0,
    }
