"""API fuzzing: schemathesis sends what the receiver's own OpenAPI document allows (and what it does not).

Every reply must be documented (status, content type, body schema), no reply may be a 5xx, requests
the document allows must be accepted and requests it does not allow refused. The document is the one
the receiver serves, narrowed to this deployment: the device id is the test's device (a generated
random one would only ever meet 401). Pushes carry the device's token; webhook bodies are signed as
they are sent (Minop signature when they have an id, Standard Webhooks otherwise), so the fuzzing
reaches the code behind the signature check.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.core import NOT_SET
from support.receiver_kit import NEW_SECRET, NOW, TOKEN, Running, minop_headers, running_receiver

DEVICE = {"enum": ["device001"]}
OPTIONAL_DEVICE = {"enum": ["device001", None]}
QUERY_DEVICE = {"enum": ["device001", ""]}  # empty: no device named there
#: The webhook's credentials: generated values are replaced by a real signature of the body sent.
SIGNATURE_HEADERS = {"x-minop-signature", "x-minop-timestamp", "webhook-id", "webhook-timestamp", "webhook-signature"}


#: A property search of the whole API (about two minutes on two cores): run by `pytest -m slow` and .ci/run.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with running_receiver(Path(tmp_path_factory.mktemp("fuzz"))) as running:
        yield running


def narrowed(document: dict[str, Any]) -> dict[str, Any]:
    """The served document with `stgid` limited to the configured device.

    On `POST /push` the query's `stgid` is left out: OpenAPI cannot say that it may stand in for the
    body's `stgid`, so a body without one beside it would count as schema-violating yet be accepted
    (test_push_shapes covers the query's device).
    """
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    for name in ("FlatPush", "NestedPush", "UnusablePush"):
        schemas[name]["properties"]["stgid"] = OPTIONAL_DEVICE
    for name in ("FlatPushNamingDevice", "NestedPushNamingDevice", "UnusablePushNamingDevice"):
        schemas[name]["properties"]["stgid"] = DEVICE
    for parameter in document["paths"]["/push/{stgid}"]["post"]["parameters"]:
        if parameter["name"] == "stgid":
            parameter["schema"] = {"type": "string", **(DEVICE if parameter["in"] == "path" else QUERY_DEVICE)}
    push = document["paths"]["/push"]["post"]
    push["parameters"] = [p for p in push.get("parameters", []) if (p["name"], p["in"]) != ("stgid", "query")]
    return document


@pytest.fixture(scope="module")
def api_schema(fuzzed: Running) -> Any:
    document = fuzzed.client.get("/openapi.json").json()
    return schemathesis.openapi.from_dict(narrowed(document))


schema = schemathesis.pytest.from_fixture("api_schema")


def _signed(case: Any) -> tuple[bytes, dict[str, str]]:
    if not _has_body(case):
        body = b""
    elif isinstance(case.body, bytes):  # negative cases may send raw bytes
        body = case.body
    else:
        body = json.dumps(case.body).encode()
    if isinstance(case.body, dict) and "id" in case.body:
        return body, minop_headers(body)
    # By hand, not with the library (tested in test_webhooks): negative bodies need not be UTF-8.
    message_id, stamp = f"msg_{uuid.uuid4().hex}", str(int(NOW.timestamp()))
    key = base64.b64decode(NEW_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{message_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    signature = "v1," + base64.b64encode(digest).decode()
    return body, {"webhook-id": message_id, "webhook-timestamp": stamp, "webhook-signature": signature}


def _has_body(case: Any) -> bool:
    return case.body is not NOT_SET


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
def test_the_receiver_honours_its_openapi_document(case: Any, fuzzed: Running) -> None:
    if case.path != "/webhooks/minop":
        case.call_and_validate(base_url=fuzzed.url, headers={"Authorization": f"Bearer {TOKEN}"})
        return
    body, headers = _signed(case)
    kwargs = case.as_transport_kwargs(base_url=fuzzed.url, headers=headers)
    kwargs.pop("json", None)
    kwargs["data"] = body
    generated = {k: v for k, v in kwargs.get("headers", {}).items() if k.lower() not in SIGNATURE_HEADERS}
    kwargs["headers"] = {**generated, **headers}
    response = requests.request(**kwargs, timeout=30)
    case.validate_response(response, headers=headers, transport_kwargs={"base_url": fuzzed.url})


def test_the_fuzzing_reached_past_authentication(fuzzed: Running) -> None:
    # Runs after the fuzzing above (same module, same receiver): generated requests were stored, not
    # all turned away at the door.
    totals: dict[str, float] = {}
    for line in fuzzed.client.get("/metrics").text.splitlines():
        if line.startswith("punchbridge_receiver_") and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            totals[name] = float(value)
    stored = sum(
        totals.get(f"punchbridge_receiver_pushes_{kind}_total", 0.0)
        for kind in ("accepted", "duplicate", "quarantined")
    )
    applied = sum(value for name, value in totals.items() if name.startswith("punchbridge_receiver_webhooks_total{"))
    assert stored > 0
    assert applied > 0
