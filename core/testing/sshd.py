"""A private OpenSSH `sshd` on loopback, for SFTP tests against the server payroll drops really run.

    reason = sshd_unavailable()
    if reason:
        pytest.skip(reason)
    with OpenSshServer(tmp_path / "remote") as server:
        ...  # the same fields as punchbridge.testing.sftp.SftpServer

The server runs as the current user (`sshd -D` in the foreground, stopped with the test), listens on
127.0.0.1 on a free port with a fresh ed25519 host key, and accepts one generated client key for the
current user. SFTP is OpenSSH's `internal-sftp` starting in `root`, so relative paths land in `root`
(no chroot: OpenSSH requires a root-owned path to chroot into, which temporary folders are not).
`sshd` needs the folder `/run/sshd`, which is created when running as root; the login user must not
be locked (`usermod -p '*' USER`), or `start()` fails saying so.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import paramiko

from punchbridge.testing.sshkeys import generate_ed25519_key, known_hosts_line

__all__ = ["SSHD", "OpenSshServer", "SshdError", "sshd_unavailable"]

#: Where Debian's `openssh-server` installs sshd; sshd must be started by absolute path.
SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")


class SshdError(RuntimeError):
    """sshd did not start or did not accept the generated key; the message holds its log."""


def sshd_unavailable() -> str | None:
    """Why an OpenSSH server cannot run here (a reason to skip), or None when it can."""
    if not SSHD.exists():
        return "OpenSSH sshd not installed"
    if not PRIVSEP_DIR.is_dir() and os.geteuid() != 0:
        return f"sshd needs {PRIVSEP_DIR}, which only root can create"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class OpenSshServer:
    """`sshd` on 127.0.0.1 serving SFTP in `root` for the current user; start with `with` or `start()`."""

    host = "127.0.0.1"
    #: OpenSSH always offers `posix-rename@openssh.com`.
    posix_rename = True

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.username = pwd.getpwuid(os.getuid()).pw_name
        self.password: str | None = None
        self.port = 0
        self.host_key_line = ""
        self.client_key_path = Path()
        self.log_path = Path()
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OpenSshServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 15.0) -> OpenSshServer:
        """Write keys and config, start sshd, wait until it accepts the client key; returns self."""
        reason = sshd_unavailable()
        if reason:
            raise SshdError(reason)
        if not PRIVSEP_DIR.is_dir():
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self._workdir = workdir = Path(tempfile.mkdtemp(prefix="punchbridge-sshd-"))
        host_public = generate_ed25519_key(workdir / "host_ed25519", comment="punchbridge-test-host")
        self.client_key_path = workdir / "client_ed25519"
        client_public = generate_ed25519_key(self.client_key_path, comment="punchbridge-test-client")
        (workdir / "authorized_keys").write_text(client_public + "\n", encoding="ascii")
        self.log_path = workdir / "sshd.log"
        for _attempt in range(3):  # another process may take the free port before sshd binds it
            self.port = _free_port()
            config = workdir / "sshd_config"
            config.write_text(self._config(workdir), encoding="utf-8")
            self._process = subprocess.Popen(
                [str(SSHD), "-D", "-f", str(config), "-E", str(self.log_path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._wait_listening(timeout):
                break
        else:
            log = self._log()
            self.stop()
            raise SshdError(f"sshd did not start:\n{log}")
        self.host_key_line = known_hosts_line(self.host, self.port, host_public)
        self._check_login(timeout)
        return self

    def _config(self, workdir: Path) -> str:
        return "\n".join(
            [
                f"Port {self.port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {workdir / 'host_ed25519'}",
                f"PidFile {workdir / 'sshd.pid'}",
                f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
                f"AllowUsers {self.username}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "StrictModes no",  # the keys live under /tmp, which is world-writable
                "LogLevel VERBOSE",
                f"Subsystem sftp internal-sftp -d {self.root}",
                "",
            ]
        )

    def _wait_listening(self, timeout: float) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        self._process.terminate()
        self._process.wait(timeout=10)
        return False

    def _check_login(self, timeout: float) -> None:
        """Log in once with the client key, so a refused login fails here with sshd's log, not in a test."""
        assert self._workdir is not None
        known_hosts = self._workdir / "known_hosts"
        known_hosts.write_text(self.host_key_line + "\n", encoding="ascii")
        client = paramiko.SSHClient()
        client.load_host_keys(str(known_hosts))
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(
                self.host,
                self.port,
                username=self.username,
                key_filename=str(self.client_key_path),
                look_for_keys=False,
                allow_agent=False,
                timeout=timeout,
            )
            client.open_sftp().close()
        except (paramiko.SSHException, OSError) as exc:
            log = self._log()
            self.stop()
            hint = f" (run: usermod -p '*' {self.username})" if "locked" in log else ""
            raise SshdError(f"sshd refused the test login: {exc}{hint}\n{log}") from exc
        finally:
            client.close()

    def _log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no sshd log)"

    def stop(self) -> None:
        """Stop sshd (the process this object started) and delete its keys and config."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            self._process = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
