"""A real SFTP server on loopback for tests: asyncssh in a background thread, chrooted to a folder.

    with SftpServer(tmp_path / "remote") as server:
        known_hosts.write_text(server.host_key_line + "\\n")
        target = SftpCsvTarget("payroll", {"host": server.host, "port": server.port,
                                           "username": server.username,
                                           "private_key": server.client_key_path,
                                           "known_hosts": known_hosts, "folder": "drop"})

The server has a fresh ed25519 host key and accepts one generated client key (and, when given, a
password) for `username`. Paths are relative to `root`, which the client sees as `/`. For failure
tests it can cut the connection partway through an upload (`drop_after`) and refuse
`posix-rename@openssh.com` requests (`posix_rename=False`) so the client's plain-rename path runs.
`punchbridge.testing.sshd` offers the same fields for a private OpenSSH server.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import shutil
import tempfile
import threading
from pathlib import Path
from types import TracebackType

import asyncssh

from punchbridge.testing.sshkeys import generate_ed25519_key, known_hosts_line

__all__ = ["SftpServer"]


class _Auth(asyncssh.SSHServer):
    """Authenticates the one user with the generated client key (or the password, when set)."""

    def __init__(self, owner: SftpServer) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._owner._connections.add(conn)
        self._owner.connections_made += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner._connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._owner.username and key.public_data == self._owner._client_public_data

    def password_auth_supported(self) -> bool:
        return self._owner.password is not None

    def validate_password(self, username: str, password: str) -> bool:
        expected = self._owner.password
        return (
            expected is not None
            and username == self._owner.username
            and hmac.compare_digest(password.encode(), expected.encode())
        )


class _SftpSession(asyncssh.SFTPServer):
    """The chrooted SFTP server of one connection, with the owner's failure switches."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], owner: SftpServer) -> None:
        super().__init__(chan, chroot=os.fsencode(owner.root))
        self._owner = owner

    def write(self, file_obj: object, offset: int, data: bytes) -> int:
        name = os.fsdecode(getattr(file_obj, "name", b""))
        allowed = self._owner._take_upload_allowance(len(data)) if name.endswith(".part") else None
        if allowed is None:
            return super().write(file_obj, offset, data)  # type: ignore[return-value]
        super().write(file_obj, offset, data[:allowed])
        getattr(file_obj, "flush", lambda: None)()
        self.channel.get_connection().abort()
        return allowed

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        if not self._owner.posix_rename:
            raise asyncssh.SFTPOpUnsupported("posix-rename is switched off on this test server")
        super().posix_rename(oldpath, newpath)


class SftpServer:
    """An asyncssh SFTP server on 127.0.0.1 (free port) serving `root`; start with `with` or `start()`."""

    host = "127.0.0.1"

    def __init__(
        self,
        root: Path,
        *,
        username: str = "punchbridge",
        password: str | None = None,
        posix_rename: bool = True,
    ) -> None:
        self.root = Path(root).resolve()
        self.username = username
        self.password = password
        #: When False, `posix-rename@openssh.com` requests are refused as unsupported.
        self.posix_rename = posix_rename
        #: How many connections `drop_after` has cut so far.
        self.drops = 0
        #: How many client connections were accepted since the start.
        self.connections_made = 0
        self.port = 0
        self.host_key_line = ""
        self.client_key_path = Path()
        self._client_public_data = b""
        self._keys_dir: Path | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._connections: set[asyncssh.SSHServerConnection] = set()
        self._lock = threading.Lock()
        self._drop_budget: int | None = None

    def __enter__(self) -> SftpServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> SftpServer:
        """Generate the keys, start the event loop thread and listen; returns self."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._keys_dir = Path(tempfile.mkdtemp(prefix="punchbridge-sftp-"))
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key_path = self._keys_dir / "client_ed25519"
        client_public = generate_ed25519_key(self.client_key_path, comment="punchbridge-test-client")
        self._client_public_data = asyncssh.import_public_key(client_public).public_data
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="punchbridge-sftp-server", daemon=True)
        self._thread.start()
        try:
            self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(host_key), self._loop).result(timeout=30)
        except BaseException:
            self.stop()
            raise
        self.port = self._acceptor.get_port()
        public_line = host_key.export_public_key("openssh").decode("ascii").strip()
        self.host_key_line = known_hosts_line(self.host, self.port, public_line)
        return self

    async def _listen(self, host_key: asyncssh.SSHKey) -> asyncssh.SSHAcceptor:
        return await asyncssh.listen(
            self.host,
            0,
            server_host_keys=[host_key],
            server_factory=lambda: _Auth(self),
            sftp_factory=lambda chan: _SftpSession(chan, self),
            allow_scp=False,
        )

    def stop(self) -> None:
        """Close every connection and the listener, stop the thread, delete the generated keys."""
        if self._loop is not None and self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=30)
            self._loop.close()
        self._loop = self._thread = self._acceptor = None
        if self._keys_dir is not None:
            shutil.rmtree(self._keys_dir, ignore_errors=True)
            self._keys_dir = None

    async def _shutdown(self) -> None:
        for conn in list(self._connections):
            conn.close()
        if self._acceptor is not None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

    @property
    def open_connections(self) -> int:
        """How many client connections are open now."""
        return len(self._connections)

    def drop_after(self, n_bytes: int) -> None:
        """Cut the connection once `n_bytes` more bytes have been written to `.part` files (once)."""
        with self._lock:
            self._drop_budget = n_bytes

    def _take_upload_allowance(self, size: int) -> int | None:
        """None if a write of `size` bytes may go through; else how many bytes to keep before the cut."""
        with self._lock:
            if self._drop_budget is None:
                return None
            if size < self._drop_budget:
                self._drop_budget -= size
                return None
            allowed, self._drop_budget = self._drop_budget, None
            self.drops += 1
            return allowed
