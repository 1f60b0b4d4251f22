"""A throwaway PostgreSQL server for the tests: the suite runs against the real engine, not a mock.

Each server lives in its own temporary directory (data, Unix socket, log), listens only on
127.0.0.1 at a free port, and is gone, directory and all, once stopped. The programs come from
Debian's `postgresql` package (`scripts/install`'s `ensure_postgresql`); when they are missing
the tests fail saying so, never skip, so a run without PostgreSQL cannot pass by accident.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

INSTALL_ROOT = Path("/usr/lib/postgresql")
DATABASE = "agented_test"
SUPERUSER = "postgres"
# initdb on the loaded 2-core test machine takes seconds; these bound every step so a stuck
# server fails the session instead of hanging it.
STEP_TIMEOUT = 60.0
PORT_ATTEMPTS = 3
# pg_ctl waits for the server to be up (or down), and gives up after the same time.
WAIT = ("--wait", f"--timeout={int(STEP_TIMEOUT)}")
# Durability is worthless for a database deleted after the run; dropping it makes writes fast.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


class PostgresNotInstalled(RuntimeError):
    """PostgreSQL's server programs are missing: the fix is installing a package, say which."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it lives, and the URL of its test database."""

    directory: Path
    bin_dir: Path
    port: int
    dsn: str

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def major_version(self) -> int:
        """The major version its programs belong to (/usr/lib/postgresql/<major>/bin)."""
        return int(self.bin_dir.parent.name)


def find_bin_dir(install_root: Path = INSTALL_ROOT) -> Path:
    """The newest installed version's bin directory holding initdb and pg_ctl."""
    candidates = [
        path.parent
        for path in install_root.glob("*/bin/initdb")
        if re.fullmatch(r"\d+", path.parent.parent.name) and (path.parent / "pg_ctl").exists()
    ]
    if not candidates:
        raise PostgresNotInstalled(
            f"the tests need PostgreSQL's server programs (initdb, pg_ctl) in "
            f"{install_root}/<version>/bin: install Debian's postgresql package "
            f"(scripts/test does, through ensure_postgresql in scripts/install)"
        )
    return max(candidates, key=lambda path: int(path.parent.name))


def _server_user() -> pwd.struct_passwd | None:
    """The account the server runs as: `postgres` when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SUPERUSER)
    except KeyError:
        raise PostgresNotInstalled(
            f"tests running as root start PostgreSQL as the {SUPERUSER!r} user, which does not "
            f"exist: install Debian's postgresql package"
        ) from None


def _free_port() -> int:
    """A loopback port nobody listens on right now (the server binds it moments later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class _Runner:
    """Runs the server's programs as its account, with a bare environment and a time limit."""

    def __init__(self, bin_dir: Path, user: pwd.struct_passwd | None, cwd: Path) -> None:
        self.bin_dir = bin_dir
        self.user = user
        self.cwd = cwd

    def chown(self, path: Path) -> None:
        if self.user is not None:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def __call__(self, program: str, *args: str) -> None:
        argv = [str(self.bin_dir / program), *args]
        try:
            subprocess.run(
                argv,
                cwd=self.cwd,
                env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                check=True,
                timeout=STEP_TIMEOUT,
                user=self.user.pw_uid if self.user else None,
                group=self.user.pw_gid if self.user else None,
                extra_groups=[] if self.user else None,
            )
        except subprocess.CalledProcessError as error:
            raise RuntimeError(
                f"{program} failed (exit {error.returncode}): {error.stderr.strip()}"
            ) from None


def _tail(path: Path, lines: int = 20) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no server log)"


def _start_on_a_free_port(run: _Runner, data_dir: Path, socket_dir: Path, log: Path) -> int:
    """Start the server on a free loopback port and return it; another process may take the
    port between our probe and the server's bind, so a few fresh ports are tried."""
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = _free_port()
        settings = {
            **SERVER_SETTINGS,
            "port": str(port),
            "unix_socket_directories": f"'{socket_dir}'",
        }
        # The last setting of a name in postgresql.conf wins, so a retry just appends again.
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        try:
            run("pg_ctl", "start", f"--pgdata={data_dir}", f"--log={log}", *WAIT)
            return port
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            server_log = _tail(log)
            if attempt < PORT_ATTEMPTS and "Address already in use" in server_log:
                continue
            raise RuntimeError(f"PostgreSQL did not start: {error}\n{server_log}") from None
    raise AssertionError("unreachable: the last attempt returns or raises")


def start_postgres(install_root: Path = INSTALL_ROOT) -> PostgresServer:
    """Initialise and start a server in a new temporary directory, with a test database.

    On any failure the half-started server is stopped and its directory removed."""
    bin_dir = find_bin_dir(install_root)
    user = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="agented-pg-"))
    run = _Runner(bin_dir, user, directory)
    try:
        run.chown(directory)
        socket_dir = directory / "socket"
        socket_dir.mkdir(mode=0o700)
        run.chown(socket_dir)
        # Password login over TCP (loopback is shared with every local user); trust only on the
        # Unix socket, which sits in this private directory.
        password = secrets.token_hex(16)
        password_file = directory / "password"
        password_file.write_text(password + "\n")
        run.chown(password_file)
        data_dir = directory / "data"
        run(
            "initdb",
            f"--pgdata={data_dir}",
            f"--username={SUPERUSER}",
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        password_file.unlink()
        log = directory / "server.log"
        port = _start_on_a_free_port(run, data_dir, socket_dir, log)
        server = PostgresServer(
            directory=directory,
            bin_dir=bin_dir,
            port=port,
            dsn=f"postgresql://{SUPERUSER}:{password}@127.0.0.1:{port}/{DATABASE}",
        )
        admin_dsn = server.dsn.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=int(STEP_TIMEOUT)) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        return server
    except BaseException:
        _stop(run, directory)
        raise


def _stop(run: _Runner, directory: Path) -> None:
    """Stop whatever server runs in `directory` (fast, then immediate), then delete it all."""
    data_dir = directory / "data"
    try:
        if (data_dir / "postmaster.pid").exists():
            try:
                run("pg_ctl", "stop", f"--pgdata={data_dir}", "--mode=fast", *WAIT)
            except (RuntimeError, subprocess.TimeoutExpired):
                # Fast shutdown waits for nothing, but a wedged server gets SIGQUIT: no leftovers.
                run("pg_ctl", "stop", f"--pgdata={data_dir}", "--mode=immediate", *WAIT)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def stop_postgres(server: PostgresServer) -> None:
    """Stop the server and remove its directory (data, socket, log)."""
    _stop(_Runner(server.bin_dir, _server_user(), server.directory), server.directory)


@contextlib.contextmanager
def running_postgres(install_root: Path = INSTALL_ROOT) -> Iterator[PostgresServer]:
    """A server for the duration of the block, stopped and removed even when the block fails."""
    server = start_postgres(install_root)
    try:
        yield server
    finally:
        stop_postgres(server)


DATABASE_ENGINES = ("sqlite", "postgres")
TEMPLATE = "agented_template"


def _with_database(dsn: str, name: str) -> str:
    return f"{dsn.rsplit('/', 1)[0]}/{name}"


def create_migrated_template(dsn: str) -> str:
    """Create a database at the shipped schema (through the server's own migration code) that
    tests copy; copying a template is far quicker than migrating each test's database."""
    from agented.paths import migrations_dir
    from agented.storage import migrate
    from agented.storage.postgres import PostgresDatabase

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {TEMPLATE}")

    async def build() -> None:
        database = await PostgresDatabase.open(_with_database(dsn, TEMPLATE), pool_size=1)
        try:
            await migrate(database, migrations_dir("postgres"))
        finally:
            await database.close()

    asyncio.run(build())
    return TEMPLATE


@contextlib.contextmanager
def database_copy(dsn: str, template: str) -> Iterator[str]:
    """A new database copied from `template`, its URL for the block, dropped afterwards
    (connections the block left open are ended: a test cannot leave it behind)."""
    name = f"agented_{secrets.token_hex(6)}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield _with_database(dsn, name)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
