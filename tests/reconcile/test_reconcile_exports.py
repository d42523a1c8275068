"""`punchbridge.reconcile` exports what the scheduler and plugin authors use, each documented."""

from __future__ import annotations

import inspect

import punchbridge.reconcile as reconcile


def test_every_export_exists_and_has_a_docstring() -> None:
    assert reconcile.__doc__
    for name in reconcile.__all__:
        value = getattr(reconcile, name)
        if callable(value) and not name.isupper():
            assert value.__doc__, f"punchbridge.reconcile.{name} has no docstring"


def test_run_reconcile_keeps_the_signature_the_scheduler_calls() -> None:
    parameters = inspect.signature(reconcile.run_reconcile).parameters

    assert list(parameters) == [
        "config", "document", "registry", "store", "target", "period", "repair", "out_dir", "today", "should_stop",
        "now",
        "lock_wait",
        "progress",
    ]  # fmt: skip
    assert [p.name for p in parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY] == list(parameters)[4:]
    assert parameters["repair"].default is False
    assert parameters["out_dir"].default is None and parameters["today"].default is None
    assert parameters["lock_wait"].default == 0
    assert parameters["progress"].default is None, "a new keyword, last: every caller keeps working"
