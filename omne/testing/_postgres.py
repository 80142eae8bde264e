"""A throwaway PostgreSQL cluster (`initdb` + `pg_ctl` in a temporary directory, on a free loopback port) for
tests and benchmarks of the PostgreSQL record store. Nothing of it outlives `stop()`. `PostgresServer` is the
part that needs only a superuser URL (statements, one schema per store): the tests use it to attach to a server
that is already running (the mutation runner's cluster, shared by the pytest it forks per mutant).

The server binaries come from the machine's PostgreSQL packages (Debian: /usr/lib/postgresql/<major>/bin);
`install=True` installs `postgresql` with apt-get when they are missing (as `make postgres` does). initdb
refuses to run as root, so under root the cluster runs as the `postgres` user (created by the package).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlsplit

from omne.errors import StorageError

_INSTALL_HINT = ("install PostgreSQL's server packages (Debian: `apt-get install -y postgresql`, or `make postgres`)"
                 " or put initdb and pg_ctl on PATH")


def find_server_bin(*, install: bool = False) -> Path:
    """The folder holding initdb, pg_ctl and postgres: on PATH, else the newest /usr/lib/postgresql/*/bin;
    with `install`, apt-get installs the packages first when neither has them."""
    for attempt in range(2):
        on_path = shutil.which("pg_ctl")
        if on_path and shutil.which("initdb"):
            return Path(os.path.realpath(on_path)).parent
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
                       if p.parent.parent.name.isdigit() else 0)
        if found:
            return found[-1].parent
        if attempt or not install:
            break
        _apt_install()
    raise StorageError(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {_INSTALL_HINT}")


def _apt_install() -> None:
    prefix = [] if os.geteuid() == 0 else (["sudo"] if shutil.which("sudo") else None)
    if prefix is None or not shutil.which("apt-get"):
        raise StorageError(f"PostgreSQL is not installed and cannot be installed here (no apt-get or root): "
                           f"{_INSTALL_HINT}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "postgresql"]):
        done = subprocess.run([*prefix, *args], env=env, capture_output=True, text=True)
        if done.returncode:
            raise StorageError(f"`{' '.join(args)}` failed: {done.stderr.strip()[-500:]}; {_INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """A running PostgreSQL server that `url` reaches as a superuser: statements and one schema per store.
    Stopping it is not this object's business (a `PostgresCluster` stops the one it started)."""

    def __init__(self, url: str) -> None:
        if urlsplit(url).scheme not in ("postgresql", "postgres"):
            raise StorageError(f"not a postgresql:// URL: {url!r}")
        self._url = url

    @property
    def url(self) -> str:
        return self._url

    def url_for_schema(self, schema: str) -> str:
        """A URL whose connections work in `schema` (created by `create_schema`): one isolated store each."""
        joiner = "&" if urlsplit(self.url).query else "?"
        return f"{self.url}{joiner}options={quote(f'-csearch_path={schema}')}"

    def execute(self, sql: str) -> None:
        """Run one statement as the superuser (autocommit)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_schema(self, schema: str) -> str:
        """Create `schema` and return the URL of a store that lives in it."""
        self.execute(f'CREATE SCHEMA "{schema}"')
        return self.url_for_schema(schema)

    def drop_schema(self, schema: str) -> None:
        self.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class PostgresCluster(PostgresServer):
    """One running throwaway cluster; `url` reaches its `postgres` database as the superuser `postgres`.

    `durable=False` (tests) turns fsync and synchronous commit off; benchmarks keep the defaults."""

    def __init__(self, *, durable: bool = False, install: bool = False) -> None:
        self.bin = find_server_bin(install=install)
        self.root = Path(tempfile.mkdtemp(prefix="omne-pg-"))
        self.port = 0
        self._run_as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root: run the cluster as the packages' `postgres` user
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise StorageError("running as root, and there is no `postgres` user to run the cluster as: "
                                   "create one (`useradd -r postgres`) or run as a normal user") from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._run_as = ["runuser", "-u", "postgres", "--"]
        self.durable = durable
        self._started = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self._run_as, str(self.bin / tool), *args], capture_output=True, text=True,
                              timeout=120)

    def start(self) -> PostgresCluster:
        data = self.root / "data"
        done = self._pg("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale",
                        *([] if self.durable else ["--no-sync"]))
        if done.returncode:
            raise StorageError(f"initdb failed: {(done.stderr or done.stdout).strip()[-800:]}")
        settings = ["-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.root}",
                    "-c max_connections=300"]
        if not self.durable:
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        for _ in range(3):  # a free port can be taken between the check and the start: try another
            self.port = _free_port()
            done = self._pg("pg_ctl", "start", "-D", str(data), "-w", "-t", "60", "-l", str(self.root / "log"),
                            "-o", " ".join([f"-p {self.port}", *settings]))
            if done.returncode == 0:
                self._started = True
                return self
        log = (self.root / "log").read_text(errors="replace")[-800:] if (self.root / "log").exists() else ""
        self.stop()
        raise StorageError(f"pg_ctl could not start a throwaway PostgreSQL cluster: {done.stderr.strip()} {log}")

    def stop(self) -> None:
        """Stop the server at once and remove every file of the cluster."""
        if self._started:
            self._pg("pg_ctl", "stop", "-D", str(self.root / "data"), "-m", "immediate", "-w")
            self._started = False
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_cluster(*, durable: bool = False, install: bool = False) -> Iterator[PostgresCluster]:
    """A started `PostgresCluster`, stopped and removed on exit."""
    cluster = PostgresCluster(durable=durable, install=install)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
