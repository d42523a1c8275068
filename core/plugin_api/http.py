"""Base URLs of HTTP targets as settings take them: https, or plain http only to this machine (tests, tunnels)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def checked_url(value: str, setting: str) -> str:
    """An http(s) base URL without trailing slash; plain http only to a loopback host. ValueError otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{setting} must be an https:// URL, got {value!r}")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{setting} must use https (plain http only to this machine): {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"{setting} takes no query or fragment: {value!r}")
    return value.strip().rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
