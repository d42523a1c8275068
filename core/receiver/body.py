"""Reading request bodies within limits: size (413), UTF-8 JSON, nesting depth, duplicate keys (400).

A body is read up to `max_body_bytes` and no further, whether or not the sender announced its length,
so a huge or endless body costs at most that much memory. JSON is parsed strictly: UTF-8 only, no
NaN/Infinity nor numbers too large for a float, no key given twice in one object (which value would
win is a matter of parser, and a signed body must mean one thing), no nesting deeper than
`max_json_depth` (depth 1 is the top-level object). Python's parser recurses, so nesting deeper than
it can handle is caught as too deep too.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator
from typing import Any

from punchbridge.receiver.rejection import RejectedError

__all__ = ["json_depth", "parse_json_object", "read_limited"]


async def read_limited(content_length: str | None, chunks: AsyncIterator[bytes] | bytes, limit: int) -> bytes:
    """The body, or `RejectedError` 413 as soon as it is known to exceed `limit` bytes (`chunks` may be
    the whole body already, as the server handed it over: checked the same way)."""
    if content_length is not None:
        text = content_length.strip()
        if not text.isdigit() or not text.isascii():
            raise RejectedError(400, "bad_request", "Content-Length is not a number", field="Content-Length")
        if int(text) > limit:
            raise _too_large(limit)
    if isinstance(chunks, bytes):
        if len(chunks) > limit:
            raise _too_large(limit)
        return chunks
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def _too_large(limit: int) -> RejectedError:
    return RejectedError(
        413, "too_large", f"the body is larger than {limit} bytes (receiver.max_body_bytes)", field="body"
    )


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # built in C; a key given twice leaves it shorter than the pairs
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKeyError(key)
            seen.add(key)
    return result


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value


def json_depth(value: Any) -> int:
    """How deeply `value` nests objects and arrays (a scalar is 0, `{}` is 1), without recursion."""
    if isinstance(value, dict):  # a flat object, as most pushes are, without the walk
        for child in value.values():
            if isinstance(child, dict | list):
                break
        else:
            return 1
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


#: One strict decoder for every body (`json.loads` with these hooks would build a decoder per call).
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant, parse_float=_finite_float
)


def parse_json_object(body: bytes, max_depth: int) -> dict[str, Any]:
    """The body as a JSON object, or `RejectedError` 400 saying what is wrong with it."""
    if not body.strip():
        raise RejectedError(400, "malformed_json", "the body is empty: expected a JSON object", field="body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RejectedError(400, "malformed_json", f"the body is not UTF-8 (byte {exc.start})", field="body") from None
    try:
        if text.startswith("\ufeff"):  # as `json.loads` says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        value = _DECODER.decode(text)
    except _DuplicateKeyError as exc:
        raise RejectedError(
            400, "malformed_json", f"key {exc.key[:80]!r} appears twice in one object", field="body"
        ) from None
    except RecursionError:
        raise RejectedError(400, "too_deep", f"JSON nested deeper than {max_depth} levels", field="body") from None
    except ValueError as exc:
        raise RejectedError(400, "malformed_json", f"the body is not JSON: {str(exc)[:200]}", field="body") from None
    if not isinstance(value, dict):
        raise RejectedError(400, "malformed_json", f"expected a JSON object, not {type(value).__name__}", field="body")
    if json_depth(value) > max_depth:
        raise RejectedError(
            400, "too_deep", f"JSON nested deeper than {max_depth} levels (receiver.max_json_depth)", field="body"
        )
    return value
