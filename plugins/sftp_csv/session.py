"""The paramiko parts of the `sftp_csv` target, imported only when an SFTP target connects."""

from __future__ import annotations

import base64
import hashlib
import logging

import paramiko
from paramiko.sftp import CMD_VERSION

log = logging.getLogger("punchbridge.plugins.sftp_csv")


def fingerprint(key: paramiko.PKey) -> str:
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode("ascii").rstrip("=")
    return f"{key.get_name()} SHA256:{digest}"


class UnknownHostKeyError(paramiko.SSHException):
    """The server's host key is not pinned in the known_hosts file."""

    def __init__(self, hostname: str, key: paramiko.PKey) -> None:
        super().__init__(f"host key of {hostname} is not in known_hosts")
        self.hostname = hostname
        self.key = key


class PinnedHostKeys(paramiko.RejectPolicy):
    """RejectPolicy that keeps the offered key, so the operator is told exactly what to check."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise UnknownHostKeyError(hostname, key)


class SftpClient(paramiko.SFTPClient):
    """paramiko's SFTP client, keeping the extensions the server announced (paramiko discards them)."""

    server_extensions: frozenset[str] = frozenset()

    def _read_packet(self) -> tuple[int, bytes]:
        kind, data = super()._read_packet()
        if kind == CMD_VERSION:  # the reply to INIT, once per session
            names = set()
            reply = paramiko.Message(data[4:])
            try:
                while reply.get_remainder():
                    names.add(reply.get_string().decode("ascii", "replace"))
                    reply.get_string()
            except Exception:  # a malformed list only costs us the optional extensions
                log.debug("could not read the SFTP server's extension list")
            self.server_extensions = frozenset(names)
        return kind, data
