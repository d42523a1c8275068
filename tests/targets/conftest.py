"""Fixtures for the payroll-file targets: batches, and real SFTP servers on loopback.

`server` runs each SFTP test against asyncssh's server and, where installed, OpenSSH's `sshd`
(skipped with "OpenSSH sshd not installed" otherwise). Both serve the folder `remote`, in which the
tests upload to `drop`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.login_retries import no_real_waits
from support.target_fixtures import LoopbackServer, attendance_batch

from punchbridge.plugin_api import Batch
from punchbridge.testing.sftp import SftpServer
from punchbridge.testing.sshd import OpenSshServer, sshd_unavailable


@pytest.fixture(autouse=True)
def _no_real_retry_waits() -> Iterator[None]:
    """Retries (of logins and pushes) as many as in a real run, without sleeping between them."""
    with no_real_waits():
        yield


@pytest.fixture
def make_batch() -> Callable[..., Batch]:
    """`make_batch(records=None, seq=1, columns=COLUMNS)`."""
    return attendance_batch


@pytest.fixture
def batch() -> Batch:
    """Three employees on 3 March 2025, sequence 1."""
    return attendance_batch()


@pytest.fixture
def asyncssh_server(tmp_path: Path) -> Iterator[SftpServer]:
    """asyncssh's SFTP server over `tmp_path/remote` (with `drop` in it)."""
    (tmp_path / "remote" / "drop").mkdir(parents=True)
    with SftpServer(tmp_path / "remote") as server:
        yield server


@pytest.fixture
def openssh_server(tmp_path: Path) -> Iterator[OpenSshServer]:
    """OpenSSH's sshd over `tmp_path/remote` (with `drop` in it); skipped where sshd is not installed."""
    reason = sshd_unavailable()
    if reason:
        pytest.skip(reason)
    (tmp_path / "remote" / "drop").mkdir(parents=True)
    with OpenSshServer(tmp_path / "remote") as server:
        yield server


@pytest.fixture(params=["asyncssh", "openssh"])
def server(request: pytest.FixtureRequest) -> LoopbackServer:
    """Each real SFTP server in turn."""
    found: LoopbackServer = request.getfixturevalue(f"{request.param}_server")
    return found


@pytest.fixture
def known_hosts(tmp_path: Path, server: LoopbackServer) -> Path:
    """A known_hosts file pinning `server`'s host key."""
    path = tmp_path / "known_hosts"
    path.write_text(server.host_key_line + "\n", encoding="ascii")
    return path
