"""The session's PostgreSQL server and a fresh schema per test.

By default the server is a throwaway cluster (omne.testing.PostgresCluster), started on first use only, so a run
that selects no PostgreSQL test starts no server. Under CI (CI=true) a cluster that cannot start fails the tests
that need it; elsewhere they skip, naming the fix.

OMNE_TEST_POSTGRES_URL (a superuser URL, e.g. postgresql://postgres@127.0.0.1:5433/postgres) attaches the tests to
a server that is already running instead: each test still gets a schema of its own (named with the process id,
so pytests run at once on one server do not collide, and dropped afterwards), and the server is never stopped
by the tests. The mutation runner (benchmarks/mutation/run.py) sets it, so that the pytest mutmut forks per mutant
does not start a cluster of its own.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

import pytest

from omne.errors import StorageError
from omne.testing import PostgresCluster, PostgresServer

ATTACH_VARIABLE = "OMNE_TEST_POSTGRES_URL"

_schemas = itertools.count(1)


def schema_name(prefix: str) -> str:
    """A schema name no other test, and no other pytest on the same server, uses: `prefix`, the pid, a count."""
    return f"{prefix}{os.getpid()}_{next(_schemas)}"


@contextmanager
def session_server(environ: Mapping[str, str]) -> Iterator[PostgresServer]:
    """The server named by ATTACH_VARIABLE in `environ` (left running), else a throwaway cluster (stopped at the
    end); raises StorageError when neither can be reached."""
    url = environ.get(ATTACH_VARIABLE)
    if url:
        server = PostgresServer(url)
        try:
            server.execute("SELECT 1")
        except Exception as exc:  # psycopg's errors, a malformed URL
            raise StorageError(f"{ATTACH_VARIABLE} names a server the tests cannot reach: {exc}") from exc
        yield server
        return
    cluster = PostgresCluster(install=True).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresServer]:
    with ExitStack() as stack:
        try:
            server = stack.enter_context(session_server(os.environ))
        except StorageError as exc:
            if os.environ.get("CI") or os.environ.get(ATTACH_VARIABLE):
                pytest.fail(f"the PostgreSQL tests need a server and none could be reached: {exc}")
            pytest.skip(f"no PostgreSQL cluster could start ({exc}); `make postgres` installs the packages")
        yield server


@pytest.fixture
def postgres_url(postgres_cluster: PostgresServer) -> Iterator[str]:
    """The URL of an empty database schema of its own (dropped afterwards): one isolated store."""
    schema = schema_name("t")
    url = postgres_cluster.create_schema(schema)
    try:
        yield url
    finally:
        postgres_cluster.drop_schema(schema)
