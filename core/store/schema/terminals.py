"""Tables of employee sync (migration 0004): what each terminal holds, and the device-command journal.

`terminal_users` is the ledger of what punchbridge made each terminal hold, one row per (terminal,
user), kept after the user is deleted (`present` false) so that its `revision` (commands applied
so far) and `lineage` (a token fixed when the row was first made) keep every later OperationID new.
It holds a hash of the profile (names and type), the user type, the access window and a
`face_ref` (a hash of a hash of the face template, never the template).

`terminal_commands` is the journal: every command of a run is recorded `pending`, with its
OperationID and the ledger row it leads to, before anything is sent; a command the cloud executed
becomes `done` in the same transaction that updates `terminal_users`. A run that crashed leaves
`pending` rows, which the next run sends first with the same OperationIDs. `command` is the JSON
of the command (name, entity, data), except for a face enrolment: a template is never stored.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, Table, Text

from punchbridge.store.schema.base import id_type as _id
from punchbridge.store.schema.base import key_type as _key
from punchbridge.store.schema.base import metadata
from punchbridge.store.schema.base import one_of as _one_of

__all__ = ["TERMINAL_ACTIONS", "TERMINAL_COMMAND_STATUSES", "terminal_commands", "terminal_users"]

#: What a journalled command does: add the user (profile), change the profile, set the access window,
#: enrol a face, delete the user.
TERMINAL_ACTIONS = ("add", "profile", "access", "enrol", "delete")
#: pending: recorded, not known to be executed; done: executed (the ledger says so); failed: the cloud
#: refused it; skipped: not sent because an earlier command for the same user failed; abandoned: an
#: interrupted command that cannot be sent again as it was (a face enrolment, a device since removed).
TERMINAL_COMMAND_STATUSES = ("pending", "done", "failed", "skipped", "abandoned")

terminal_users = Table(
    "terminal_users",
    metadata,
    Column("stgid", _key(), primary_key=True),
    Column("user_id", _key(), primary_key=True),
    Column("present", Boolean, nullable=False),
    Column("employee_ref", Text, nullable=True),  # the HRMS's id of the employee, for reports
    Column("profile_hash", Text, nullable=True),
    Column("user_type", Text, nullable=True),
    Column("access_start", Text, nullable=True),
    Column("access_end", Text, nullable=True),
    Column("access_days", Text, nullable=True),
    Column("face_ref", Text, nullable=True),
    Column("revision", Integer, nullable=False),
    Column("lineage", Text, nullable=False),
    Column("updated_at_ns", BigInteger, nullable=False),
)

terminal_commands = Table(
    "terminal_commands",
    metadata,
    Column("id", _id(), primary_key=True, autoincrement=True),
    Column("run_id", BigInteger, nullable=True),
    Column("stgid", _key(), nullable=False),
    Column("user_id", _key(), nullable=False),
    Column("action", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("lineage", Text, nullable=False),
    Column("operation_id", Text, nullable=False),
    Column("command", Text, nullable=True),
    Column("effect", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("created_at_ns", BigInteger, nullable=False),
    Column("finished_at_ns", BigInteger, nullable=True),
    Index(None, "status"),
    Index(None, "stgid", "user_id"),
    _one_of("action", TERMINAL_ACTIONS, "action"),
    _one_of("status", TERMINAL_COMMAND_STATUSES, "status"),
)
