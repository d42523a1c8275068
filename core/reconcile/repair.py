"""`reconcile --repair`: resend the missing and different records through the sync engine's delivery.

After the repair the resent days are read back once more (`verify_repair`): a record the target
still holds otherwise is `still_different`, never reported repaired.

The ledger rows of the records to resend are marked not held (`Store.mark_not_held`, which also
makes the next sync look at every stored day again); then exactly those days are mapped, compared
with the ledger and sent through a `punchbridge.sync.delivery.Delivery`, with its batches recorded
before sending, retries, dead letters and batch hooks. A record the target already held in an older
version goes out flagged `recomputed`. Each finding then says what happened to it.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from punchbridge.cutoff.state import CutOff
from punchbridge.mapping.model import TargetMapping
from punchbridge.reconcile.compare import Finding
from punchbridge.store import Store
from punchbridge.sync.delivery import Delivery, Outgoing
from punchbridge.sync.diff import day_keys, records_to_send
from punchbridge.sync.report import TargetReport

__all__ = ["repair_findings", "verify_repair"]


def repair_findings(
    findings: list[Finding],
    delivery: Delivery,
    mapping: TargetMapping,
    employees: pd.DataFrame,
    cutoff: CutOff,
    run_id: int,
    days: pd.DataFrame | None = None,
) -> tuple[list[Finding], TargetReport | None]:
    """Resend the findings whose action is `resend`; the findings with their new action (`resent`,
    `refused` or `not_sent`, with why) and the delivery's report (None when there was nothing to send).

    `days` are the days the comparison expected (a day the target's open-day gate closes in its closed
    form); without them the stored days are sent.
    """
    chosen = [f for f in findings if f.action == "resend" and f.record_key]
    if not chosen:
        return findings, None
    store = delivery.store
    for status in ("missing", "different"):
        keys = [f.record_key for f in chosen if f.status == status and f.record_key]
        if keys:
            store.mark_not_held(delivery.name, keys, f"reconcile run {run_id}: {status} in the target")
    wanted = {f.record_key for f in chosen if f.record_key}
    staff = sorted({key.rsplit("|", 2)[0] for key in wanted})
    first, last = min(f.work_date for f in chosen), max(f.work_date for f in chosen)

    def choose() -> Outgoing:
        chosen = store.load_days(first, last, staff) if days is None else days
        chosen = chosen[(day_keys(chosen) + "|day").isin(wanted)] if len(chosen) else chosen
        return Outgoing(records_to_send(delivery, mapping, chosen, employees, cutoff))

    served = delivery.deliver(choose)
    return _outcomes(findings, store, delivery.name, served), served


def _outcomes(findings: list[Finding], store: Store, target: str, served: TargetReport) -> list[Finding]:
    """Each `resend` finding as the ledger now has it: resent, refused (a dead letter) or not sent."""
    keys = [f.record_key for f in findings if f.action == "resend" and f.record_key]
    ledger = store.ledger(target, keys)
    rows = {row.record_key: row for row in ledger.itertuples(index=False)}
    why_not = served.error or served.busy or ("stopped before it was sent" if served.stopped else "")
    why_not = why_not or "the repair did not send it"
    repaired = []
    for finding in findings:
        if finding.action != "resend" or not finding.record_key:
            repaired.append(finding)
            continue
        row = rows.get(finding.record_key)
        if row is not None and row.status == "delivered" and row.content_hash == finding.content_hash:
            repaired.append(dataclasses.replace(finding, action="resent", ledger="delivered"))
        elif row is not None and row.status == "rejected":
            message = f"the target refused it: {row.last_error} (see punchbridge dlq list)"
            repaired.append(dataclasses.replace(finding, action="refused", ledger="rejected", detail=message))
        else:
            repaired.append(dataclasses.replace(finding, action="not_sent", detail=why_not))
    return repaired


def verify_repair(findings: list[Finding], again: list[Finding]) -> list[Finding]:
    """`findings` with each `resent` one checked against `again` (the resent days compared once more after
    the repair, read back from the target): one the target still holds otherwise is `still_different`."""
    after = {f.record_key: f for f in again if f.record_key and f.status != "extra"}
    checked = []
    for finding in findings:
        now = after.get(finding.record_key) if finding.action == "resent" else None
        if now is None or now.status == "matched":
            checked.append(finding)
            continue
        said = f"fields {', '.join(now.differing)} differ" if now.differing else f"the target shows it {now.status}"
        detail = f"resent, but read back after the repair {said}: the target keeps another value than it was sent"
        checked.append(
            dataclasses.replace(finding, action="still_different", held=now.held or finding.held, detail=detail)
        )
    return checked
