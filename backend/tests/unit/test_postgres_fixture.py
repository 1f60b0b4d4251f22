"""The real PostgreSQL the suite runs against: reachable through psycopg's async pool, on loopback
only, and gone without a trace once stopped (tests/support/postgres.py)."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from ..support import postgres
from ..support.postgres import (
    DATABASE,
    PostgresNotInstalled,
    find_bin_dir,
    start_postgres,
    stop_postgres,
)
from ..support.procs import alive

LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian)
LISTEN = "0A"


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as the kernel lists them) with a socket listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == LISTEN and int(port_hex, 16) == port:
                found.add(address)
    return found


async def test_the_server_answers_select_1_through_an_async_pool(postgres_dsn: str) -> None:
    async with (
        AsyncConnectionPool(postgres_dsn, min_size=1, max_size=2, timeout=30, open=False) as pool,
        pool.connection() as conn,
    ):
        cursor = await conn.execute("SELECT 1, current_database()")
        assert await cursor.fetchone() == (1, DATABASE)


async def test_the_server_reports_the_version_of_the_installed_programs(postgres_dsn: str) -> None:
    async with await psycopg.AsyncConnection.connect(postgres_dsn, connect_timeout=30) as conn:
        cursor = await conn.execute("SELECT current_setting('server_version_num')::int")
        row = await cursor.fetchone()
        reported = conn.info.server_version
    assert row is not None
    assert row[0] == reported
    assert reported // 10000 == int(find_bin_dir().parent.name)


async def test_the_server_listens_only_on_loopback(postgres_dsn: str) -> None:
    port = psycopg.conninfo.conninfo_to_dict(postgres_dsn)["port"]
    assert port is not None
    assert listening_addresses(int(port)) == {LOOPBACK_HEX}
    async with await psycopg.AsyncConnection.connect(postgres_dsn, connect_timeout=30) as conn:
        cursor = await conn.execute("SHOW listen_addresses")
        assert await cursor.fetchone() == ("127.0.0.1",)


def test_tcp_logins_need_the_password(postgres_dsn: str) -> None:
    """Loopback is shared with every local user, so the DSN's password is what lets one in."""
    wrong = psycopg.conninfo.make_conninfo(postgres_dsn, password="wrong")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=30).close()


def test_a_port_taken_before_the_server_binds_it_is_replaced_by_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, postgres._free_port()])
        monkeypatch.setattr(postgres, "_free_port", lambda: next(ports))
        server = start_postgres()
        try:
            assert server.port != taken
            with psycopg.connect(server.dsn, connect_timeout=30) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
        finally:
            stop_postgres(server)


def test_stopping_the_server_ends_it_and_removes_its_directory() -> None:
    server = start_postgres()
    try:
        pid = int((server.data_dir / "postmaster.pid").read_text().split()[0])
        assert alive(pid)
        with psycopg.connect(server.dsn, connect_timeout=30) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        stop_postgres(server)
    assert not server.directory.exists()
    assert not alive(pid)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn, connect_timeout=5).close()


def test_a_missing_postgresql_is_an_error_naming_the_package(tmp_path: Path) -> None:
    with pytest.raises(PostgresNotInstalled, match="install Debian's postgresql package"):
        start_postgres(install_root=tmp_path)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the server's account (postgres, when the tests run as root) can enter."""
    path = Path(tempfile.mkdtemp(prefix="agented-pg-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_a_server_that_fails_to_initialise_leaves_no_directory_behind(
    shared_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = shared_dir / "install" / "99" / "bin"
    bin_dir.mkdir(parents=True)
    for program in ("initdb", "pg_ctl"):
        (bin_dir / program).write_text("#!/bin/sh\necho 'disk on fire' >&2\nexit 1\n")
        (bin_dir / program).chmod(0o755)
    servers = shared_dir / "servers"
    servers.mkdir(mode=0o755)
    monkeypatch.setattr(tempfile, "tempdir", str(servers))
    with pytest.raises(RuntimeError, match=r"initdb failed \(exit 1\): disk on fire"):
        start_postgres(install_root=shared_dir / "install")
    assert list(servers.iterdir()) == []
