"""SSH keys for tests: fresh ed25519 key pairs and the known_hosts lines that pin them."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["generate_ed25519_key", "known_hosts_line"]


def generate_ed25519_key(path: Path, comment: str = "punchbridge-test") -> str:
    """Write a new unencrypted ed25519 private key (OpenSSH format, mode 0600) to `path`, its public key
    to `path.pub`, and return the public key line (`ssh-ed25519 AAAA... comment`)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(private)
    line = f"{public.decode('ascii')} {comment}"
    Path(f"{path}.pub").write_text(line + "\n", encoding="ascii")
    return line


def known_hosts_line(host: str, port: int, public_key_line: str) -> str:
    """The known_hosts entry pinning `public_key_line` (`TYPE BASE64 [comment]`) for `host`:`port`."""
    key_type, key_data = public_key_line.split()[:2]
    name = host if port == 22 else f"[{host}]:{port}"
    return f"{name} {key_type} {key_data}"
