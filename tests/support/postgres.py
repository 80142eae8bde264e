"""The session's throwaway PostgreSQL cluster (omne.testing.PostgresCluster) and a fresh schema per test.

Started on first use only, so a run that selects no PostgreSQL test starts no server. Under CI (CI=true) a
cluster that cannot start fails the tests that need it; elsewhere they skip, naming the fix.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from omne.errors import StorageError
from omne.testing import PostgresCluster

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster(install=True).start()
    except StorageError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"the PostgreSQL tests need a throwaway cluster and none could start: {exc}")
        pytest.skip(f"no PostgreSQL cluster could start ({exc}); `make postgres` installs the packages")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """The URL of an empty database schema of its own (dropped afterwards): one isolated store."""
    schema = f"t{os.getpid()}_{next(_schemas)}"
    url = postgres_cluster.create_schema(schema)
    try:
        yield url
    finally:
        postgres_cluster.drop_schema(schema)
