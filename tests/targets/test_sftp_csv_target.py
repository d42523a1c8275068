"""The `sftp_csv` target against real SFTP servers on loopback: pinned host keys, atomic publish, resends.

Tests taking `server` run against asyncssh's server and OpenSSH's sshd (where installed); tests that
need to break the server on purpose (cut connections, no posix-rename, passwords) use asyncssh's.
"""

from __future__ import annotations

import importlib.metadata
import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from support.target_fixtures import LoopbackServer, attendance_batch, attendance_record, big_batch, sftp_settings

from punchbridge.plugin_api import Batch, CredentialsError, FatalTargetError, TransientError
from punchbridge.plugins import sftp_csv
from punchbridge.plugins.csv_drop import manifest, render_csv
from punchbridge.plugins.sftp_csv import SftpCsvTarget
from punchbridge.testing.sftp import SftpServer
from punchbridge.testing.sshkeys import generate_ed25519_key, known_hosts_line

NAME = "attendance_2025-03-01_2025-03-31_0001.csv"


def drop_folder(server: LoopbackServer) -> Path:
    return server.root / "drop"


def listing(server: LoopbackServer) -> list[str]:
    return sorted(path.name for path in drop_folder(server).iterdir())


def push_once(server: LoopbackServer, known_hosts: Path, batch: Batch, **settings: object) -> None:
    target = SftpCsvTarget("payroll", sftp_settings(server, known_hosts, **settings))
    target.open()
    try:
        target.push(batch)
    finally:
        target.close()


# -- against every server ----------------------------------------------------------------------


def test_upload_lands_the_same_file_and_manifest_the_local_target_writes(
    server: LoopbackServer, known_hosts: Path, batch: Batch
) -> None:
    target = SftpCsvTarget("payroll", sftp_settings(server, known_hosts))
    target.open()
    try:
        outcomes = target.push(batch)
    finally:
        target.close()

    data = render_csv(batch)
    assert (drop_folder(server) / NAME).read_bytes() == data
    assert (drop_folder(server) / f"{NAME}.sha256").read_bytes() == manifest(NAME, data)
    assert listing(server) == [NAME, f"{NAME}.sha256"], "no .part file is left"
    assert [(o.key, o.ok, o.remote_id) for o in outcomes] == [(r.key, True, NAME) for r in batch.records]


def test_the_servers_offer_of_posix_rename_is_seen(
    server: LoopbackServer, known_hosts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="punchbridge.plugins.sftp_csv")
    target = SftpCsvTarget("payroll", sftp_settings(server, known_hosts))
    target.open()
    target.close()
    assert "(posix-rename)" in caplog.text


def test_resending_the_same_batch_keeps_one_file_and_does_not_rewrite_it(
    server: LoopbackServer, known_hosts: Path, batch: Batch
) -> None:
    push_once(server, known_hosts, batch)
    first = (drop_folder(server) / NAME).stat()

    push_once(server, known_hosts, batch)

    again = (drop_folder(server) / NAME).stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert listing(server) == [NAME, f"{NAME}.sha256"]


def test_a_resend_after_a_crash_before_the_manifest_adds_the_manifest(
    server: LoopbackServer, known_hosts: Path, batch: Batch
) -> None:
    push_once(server, known_hosts, batch)
    (drop_folder(server) / f"{NAME}.sha256").unlink()

    push_once(server, known_hosts, batch)

    assert listing(server) == [NAME, f"{NAME}.sha256"]


def test_a_different_remote_file_under_the_same_name_is_refused_and_left_untouched(
    server: LoopbackServer, known_hosts: Path, batch: Batch
) -> None:
    foreign = render_csv(batch).replace(b"8.5", b"9.5")  # same size, different bytes
    (drop_folder(server) / NAME).write_bytes(foreign)

    with pytest.raises(FatalTargetError, match="already exists with different content"):
        push_once(server, known_hosts, batch)

    assert (drop_folder(server) / NAME).read_bytes() == foreign
    assert listing(server) == [NAME]


def test_a_host_key_missing_from_known_hosts_is_refused_and_nothing_is_uploaded(
    server: LoopbackServer, tmp_path: Path, batch: Batch
) -> None:
    known_hosts = tmp_path / "known_hosts"
    other = generate_ed25519_key(tmp_path / "elsewhere")
    known_hosts.write_text(known_hosts_line("198.51.100.7", 22, other) + "\n")

    with pytest.raises(FatalTargetError) as refused:
        push_once(server, known_hosts, batch)

    message = str(refused.value)
    assert str(known_hosts) in message and "SHA256:" in message and "administrator" in message
    assert listing(server) == []
    assert known_hosts.read_text().count("\n") == 1, "the key must never be added automatically"


def test_a_changed_host_key_is_refused_and_nothing_is_uploaded(
    server: LoopbackServer, tmp_path: Path, batch: Batch
) -> None:
    known_hosts = tmp_path / "known_hosts"
    impostor = generate_ed25519_key(tmp_path / "impostor")
    known_hosts.write_text(known_hosts_line(server.host, server.port, impostor) + "\n")

    with pytest.raises(FatalTargetError, match="host key changed"):
        push_once(server, known_hosts, batch)

    assert listing(server) == []


def test_a_client_key_the_server_does_not_know_is_a_credentials_error(
    server: LoopbackServer, known_hosts: Path, tmp_path: Path, batch: Batch
) -> None:
    generate_ed25519_key(tmp_path / "stranger")
    with pytest.raises(CredentialsError, match="refused the login"):
        push_once(server, known_hosts, batch, private_key=tmp_path / "stranger")
    assert listing(server) == []


def test_a_missing_remote_folder_is_fatal(server: LoopbackServer, known_hosts: Path, batch: Batch) -> None:
    with pytest.raises(FatalTargetError, match="'no-such-folder' exist"):
        push_once(server, known_hosts, batch, folder="no-such-folder")


def test_a_password_never_appears_in_errors_or_logs(
    server: LoopbackServer,
    known_hosts: Path,
    tmp_path: Path,
    batch: Batch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "pw-Zq81-never-log-me"
    generate_ed25519_key(tmp_path / "stranger")
    caplog.set_level(logging.DEBUG)
    target = SftpCsvTarget("payroll", sftp_settings(server, known_hosts, private_key=None, password=secret))

    with pytest.raises(CredentialsError) as refused:
        target.open()

    assert secret not in str(refused.value) and secret not in repr(refused.value.__cause__)
    assert secret not in caplog.text
    assert secret not in target.describe() and secret not in repr(target.settings)


# -- against asyncssh's server, broken on purpose ------------------------------------------------


@pytest.fixture
def asyncssh_known_hosts(tmp_path: Path, asyncssh_server: SftpServer) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(asyncssh_server.host_key_line + "\n")
    return path


def test_an_upload_cut_midway_leaves_no_final_file_and_the_rerun_publishes_it_exactly_once(
    asyncssh_server: SftpServer, asyncssh_known_hosts: Path
) -> None:
    batch = big_batch(20_000)
    data = render_csv(batch)
    assert len(data) > 1_000_000
    target = SftpCsvTarget("payroll", sftp_settings(asyncssh_server, asyncssh_known_hosts))
    target.open()
    asyncssh_server.drop_after(len(data) // 2)

    with pytest.raises(TransientError, match="connection lost"):
        target.push(batch)

    assert asyncssh_server.drops == 1
    assert listing(asyncssh_server) == [f"{NAME}.part"], "only the partial .part, never the final name"
    assert (drop_folder(asyncssh_server) / f"{NAME}.part").stat().st_size < len(data)

    outcomes = target.push(batch)  # the engine's retry: same target, connection reopened
    target.close()

    assert listing(asyncssh_server) == [NAME, f"{NAME}.sha256"]
    assert (drop_folder(asyncssh_server) / NAME).read_bytes() == data
    assert len(outcomes) == 20_000 and all(o.ok for o in outcomes)


def test_a_connection_cut_while_publishing_the_manifest_is_healed_by_the_rerun(
    asyncssh_server: SftpServer, asyncssh_known_hosts: Path, batch: Batch
) -> None:
    data = render_csv(batch)
    target = SftpCsvTarget("payroll", sftp_settings(asyncssh_server, asyncssh_known_hosts))
    asyncssh_server.drop_after(len(data) + 10)  # the CSV goes through; the manifest upload is cut
    with pytest.raises(TransientError):
        target.push(batch)
    assert NAME in listing(asyncssh_server) and f"{NAME}.sha256" not in listing(asyncssh_server)

    target.push(batch)
    target.close()

    assert listing(asyncssh_server) == [NAME, f"{NAME}.sha256"]


@pytest.mark.parametrize("how", ["refused by the server", "not offered by the server"])
def test_without_posix_rename_a_plain_rename_publishes(
    tmp_path: Path, batch: Batch, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "not offered by the server":
        monkeypatch.setattr(sftp_csv, "POSIX_RENAME", "posix-rename@example.invalid")
    (tmp_path / "remote" / "drop").mkdir(parents=True)
    with SftpServer(tmp_path / "remote", posix_rename=False) as server:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(server.host_key_line + "\n")
        push_once(server, known_hosts, batch)
        push_once(server, known_hosts, batch)
        assert listing(server) == [NAME, f"{NAME}.sha256"]
        assert (drop_folder(server) / NAME).read_bytes() == render_csv(batch)


def test_password_login_works_and_a_wrong_password_is_a_credentials_error(tmp_path: Path, batch: Batch) -> None:
    (tmp_path / "remote" / "drop").mkdir(parents=True)
    with SftpServer(tmp_path / "remote", password="right horse battery") as server:
        known_hosts = tmp_path / "known_hosts"
        known_hosts.write_text(server.host_key_line + "\n")
        with pytest.raises(CredentialsError):
            push_once(server, known_hosts, batch, private_key=None, password="wrong")
        push_once(server, known_hosts, batch, private_key=None, password="right horse battery")
        assert listing(server) == [NAME, f"{NAME}.sha256"]


def test_one_connection_serves_every_batch_of_a_run(asyncssh_server: SftpServer, asyncssh_known_hosts: Path) -> None:
    target = SftpCsvTarget("payroll", sftp_settings(asyncssh_server, asyncssh_known_hosts))
    target.open()
    try:
        for seq in (1, 2, 3):
            target.push(attendance_batch([attendance_record("E1", seq)], seq=seq))
        assert asyncssh_server.connections_made == 1
    finally:
        target.close()
    assert len(listing(asyncssh_server)) == 6


# -- without any server --------------------------------------------------------------------------


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and then never says a word (a hung server)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


def test_a_server_that_does_not_answer_is_a_transient_error_after_the_timeout(
    silent_listener: int, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    settings = {
        "host": "127.0.0.1",
        "port": silent_listener,
        "username": "u",
        "password": "p",
        "known_hosts": known_hosts,
        "folder": "drop",
        "timeout": 0.5,
    }
    with pytest.raises(TransientError, match="cannot connect"):
        SftpCsvTarget("payroll", settings).open()


def test_a_refused_connection_is_a_transient_error(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        closed_port = probe.getsockname()[1]
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    settings = {
        "host": "127.0.0.1",
        "port": closed_port,
        "username": "u",
        "password": "p",
        "known_hosts": known_hosts,
        "folder": "drop",
    }
    with pytest.raises(TransientError, match="cannot connect"):
        SftpCsvTarget("payroll", settings).open()


def test_a_missing_known_hosts_file_is_fatal(tmp_path: Path) -> None:
    settings = {"host": "h", "username": "u", "password": "p", "known_hosts": tmp_path / "nope", "folder": "d"}
    with pytest.raises(FatalTargetError, match="known_hosts"):
        SftpCsvTarget("payroll", settings).open()


def test_settings_need_a_private_key_or_a_password(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="private_key"):
        SftpCsvTarget("payroll", {"host": "h", "username": "u", "known_hosts": tmp_path, "folder": "d"})


def test_sftp_csv_is_registered_through_the_punchbridge_entry_point() -> None:
    (entry,) = [e for e in importlib.metadata.entry_points(group="punchbridge") if e.name == "sftp_csv"]
    registered: dict[str, type] = {}
    entry.load().register_targets(register=registered.__setitem__)
    assert registered == {"sftp_csv": SftpCsvTarget}
