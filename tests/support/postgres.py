"""A throwaway PostgreSQL server for the tests: its own cluster, on a free 127.0.0.1 port.

PostgreSQL refuses to run as root, so when the tests run as root (CI, `make test` on a fresh
machine) the cluster belongs to the `postgres` user and lives outside pytest's temp folders,
which only root can enter.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.servers import ServerProcess
from tools.broker.kafka import free_ports

DATABASE = "phoenix_test"
SERVER_SETTINGS = {
    # Throwaway data on a machine that does not crash: fsync only costs time. Commits stay
    # synchronous, so a killed server (fault tests) keeps every committed row.
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "64MB",
}


class PostgresNotInstalled(RuntimeError):
    """No PostgreSQL server binaries: `make setup` installs Debian's postgresql."""


class PostgresStartError(RuntimeError):
    """The server did not start or did not accept connections in time; ends with its log."""


def postgres_bindir() -> Path:
    """The newest /usr/lib/postgresql/<major>/bin with initdb, else `pg_config --bindir`."""
    candidates = sorted(
        (path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda path: int(re.sub(r"\D", "", path.parent.name) or 0),
        reverse=True,
    )
    if candidates:
        return candidates[0]
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = Path(
            subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        )
        if (bindir / "initdb").exists():
            return bindir
    raise PostgresNotInstalled("no PostgreSQL server binaries (initdb, postgres) found: run `make setup`")


def server_user() -> pwd.struct_passwd | None:
    """The account to run the server as: `postgres` when we are root, else ourselves (None)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as error:
        raise PostgresNotInstalled("running as root but there is no `postgres` user: run `make setup`") from error


def child_pids(parent_pid: int) -> list[int]:
    """Direct children of a process, read from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (2nd field) may hold spaces; fields after its ')' are plain.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent_pid:
            children.append(int(stat.parent.name))
    return children


class PostgresServer(ServerProcess):
    """One PostgreSQL cluster with database `phoenix_test`, trust authentication, TCP on `host`
    (127.0.0.1, or an address of a network namespace the test made, entered with `namespace`:
    the `ip netns exec` command prefix)."""

    def __init__(self, database: str = DATABASE, *, host: str = "127.0.0.1", namespace: tuple[str, ...] = ()) -> None:
        self.host = host
        self.namespace = namespace
        self.bindir = postgres_bindir()
        self.user = server_user()
        self.database = database
        self.work_dir = Path(tempfile.mkdtemp(prefix="phoenix-postgres-"))
        self.data_dir = self.work_dir / "data"
        self.log_path = self.work_dir / "postgres.log"
        (self.port,) = free_ports(1)
        self.process: subprocess.Popen[bytes] | None = None
        if self.user is not None:
            os.chown(self.work_dir, self.user.pw_uid, self.user.pw_gid)

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3 driver) of the test database."""
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{self.database}"

    @property
    def conninfo(self) -> str:
        return self._conninfo(self.database)

    def start(self, timeout_seconds: float = 60) -> None:
        """initdb on first start, launch the server, create the database, wait for connections."""
        if self.running:
            raise RuntimeError(f"PostgreSQL on port {self.port} is already running")
        first_start = not (self.data_dir / "PG_VERSION").exists()
        if first_start:
            self._initdb()
            if self.host != "127.0.0.1":
                self._trust_the_test_network()
        self._launch()
        self._wait_until_accepting(timeout_seconds)
        if first_start:
            self._create_database()

    def _ask_to_stop(self, process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGINT)  # fast shutdown: roll back, disconnect, checkpoint

    def kill(self) -> None:
        """Crash it: SIGKILL to the postmaster and every backend it forked."""
        if self.process is None or self.process.poll() is not None:
            return
        # Backends run in sessions of their own (postgres calls setsid), so killing the
        # postmaster's group would leave them holding the shared memory a restart needs.
        for pid in [self.process.pid, *child_pids(self.process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=30)

    def close(self) -> None:
        """Stop the server and delete its cluster."""
        self.stop()
        shutil.rmtree(self.work_dir, ignore_errors=True)

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run_as_server_user(self, command: list[str], timeout_seconds: float) -> None:
        result = subprocess.run(
            command,
            cwd=self.work_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_seconds,
            **self._user_options(),
        )
        if result.returncode != 0:
            raise PostgresStartError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )

    def _user_options(self) -> dict[str, object]:
        if self.user is None:
            return {}
        return {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": [], "env": self._server_env()}

    def _server_env(self) -> dict[str, str]:
        assert self.user is not None
        return {**os.environ, "HOME": self.user.pw_dir, "USER": self.user.pw_name, "LOGNAME": self.user.pw_name}

    def _initdb(self) -> None:
        self._run_as_server_user(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                "postgres",
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            timeout_seconds=120,
        )

    def _trust_the_test_network(self) -> None:
        """initdb trusts loopback only; a server in a test's namespace trusts its /24 too."""
        subnet = ".".join(self.host.split(".")[:3]) + ".0/24"
        with open(self.data_dir / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {subnet} trust\n")

    def _launch(self) -> None:
        settings = {
            **SERVER_SETTINGS,
            "listen_addresses": self.host,
            "port": str(self.port),
            "unix_socket_directories": str(self.work_dir),
        }
        command = [str(self.bindir / "postgres"), "-D", str(self.data_dir)]
        for name, value in settings.items():
            command += ["-c", f"{name}={value}"]
        options = self._user_options()
        if self.namespace and self.user is not None:
            # Entering a namespace needs root, so the server user is taken on inside it.
            command = [*self.namespace, "setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}",
                       "--clear-groups", "--", *command]
            options = {"env": self._server_env()}
        elif self.namespace:
            command = [*self.namespace, *command]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **options,
            )

    def _wait_until_accepting(self, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise PostgresStartError(
                    f"PostgreSQL exited ({code}) while starting; log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with psycopg.connect(self._conninfo("postgres"), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        self.kill()
        raise PostgresStartError(
            f"PostgreSQL did not accept connections on {self.host}:{self.port} within {timeout_seconds} s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def _create_database(self) -> None:
        with psycopg.connect(self._conninfo("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')

    def _conninfo(self, database: str) -> str:
        return f"host={self.host} port={self.port} user=postgres dbname={database}"
