"""The plugin API: everything a plugin author imports, from one place.

    from punchbridge.plugin_api import Batch, Capability, HttpTarget, Outcome, hookimpl

A target plugin subclasses `Target` (or `HttpTarget` for an HTTP API) with its settings model as
type argument, returns one `Outcome` per `Record` of a `Batch`, and raises the target errors by what
the engine should do next (`TransientError`, `RateLimitedError`, `CredentialsError`,
`FatalTargetError`, `TargetReplyError`). A source plugin subclasses `Source`. Both register through
the hooks (`hookimpl`, see `punchbridge.plugin_api.hookspecs`). The worked intervals of a day come as
the `intervals` text; `parse_intervals` reads it and `format_intervals` writes it.

The modules behind this face: `hookspecs` (every hook, documented), `registry` (loading plugins from
entry points), `targets` (the target contract), `sources` (the source contract) and `http` (what
HTTP targets share). Names not listed in `__all__` are not part of the API. The names of `http` load
on first use (httpx is imported by the targets that speak HTTP, not by every command), and so do
those of `rules.intervals`.
"""

from typing import TYPE_CHECKING

from punchbridge.errors import (
    BadRecordError,
    CredentialsError,
    FatalTargetError,
    RateLimitedError,
    TargetError,
    TargetReplyError,
    TransientError,
)
from punchbridge.lazy import lazy_names
from punchbridge.plugin_api.hookspecs import hookimpl
from punchbridge.plugin_api.registry import Register, RegisterTransform
from punchbridge.plugin_api.sources import Fetched, Source, SourceContext
from punchbridge.plugin_api.targets import Capability, OnlineCheck, RefusedError, Target, ZoneModel, batch_columns
from punchbridge.records import Batch, Employee, HeldRecord, Outcome, Record

if TYPE_CHECKING:
    from punchbridge.plugin_api.http import (
        HttpConnection,
        HttpSettings,
        HttpTarget,
        TimeZoneName,
        TokenRefusedError,
        checked_url,
        clip,
        content_kind,
        retry_after,
        retry_after_seconds,
        throttling_error,
    )
    from punchbridge.rules.intervals import Interval, IntervalsError, format_intervals, parse_intervals

__all__ = [
    "BadRecordError",
    "Batch",
    "Capability",
    "CredentialsError",
    "Employee",
    "FatalTargetError",
    "Fetched",
    "HeldRecord",
    "HttpConnection",
    "HttpSettings",
    "HttpTarget",
    "Interval",
    "IntervalsError",
    "OnlineCheck",
    "Outcome",
    "RateLimitedError",
    "Record",
    "RefusedError",
    "Register",
    "RegisterTransform",
    "Source",
    "SourceContext",
    "Target",
    "TargetError",
    "TargetReplyError",
    "TimeZoneName",
    "TokenRefusedError",
    "TransientError",
    "ZoneModel",
    "batch_columns",
    "checked_url",
    "clip",
    "content_kind",
    "format_intervals",
    "hookimpl",
    "parse_intervals",
    "retry_after",
    "retry_after_seconds",
    "throttling_error",
]

#: Names imported on first use, by module: `http` brings httpx, `rules.intervals` numpy and pyarrow.
_LAZY = {
    **dict.fromkeys(
        (
            "HttpConnection",
            "HttpSettings",
            "HttpTarget",
            "TimeZoneName",
            "TokenRefusedError",
            "checked_url",
            "clip",
            "content_kind",
            "retry_after",
            "retry_after_seconds",
            "throttling_error",
        ),
        "punchbridge.plugin_api.http",
    ),
    **dict.fromkeys(
        ("Interval", "IntervalsError", "format_intervals", "parse_intervals"), "punchbridge.rules.intervals"
    ),
}


__getattr__ = lazy_names(__name__, _LAZY)
