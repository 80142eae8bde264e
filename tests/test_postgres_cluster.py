"""The throwaway PostgreSQL cluster the PostgreSQL store tests run on: it starts, isolates each test's store in
its own schema, and leaves nothing behind."""

from __future__ import annotations

import psycopg
import pytest

from omne.errors import StorageError
from omne.testing import throwaway_cluster
from tests.support.postgres import ATTACH_VARIABLE, schema_name, session_server


def test_a_throwaway_cluster_serves_sql_and_leaves_no_files():
    with throwaway_cluster() as cluster:
        root = cluster.root
        with psycopg.connect(cluster.url) as conn:
            assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
        assert cluster.url.startswith("postgresql://postgres@127.0.0.1:")
    assert not root.exists()
    with_refused = None
    try:
        psycopg.connect(cluster.url, connect_timeout=2).close()
    except psycopg.OperationalError as exc:
        with_refused = exc
    assert with_refused is not None  # the server is gone too


def test_each_test_schema_is_its_own_namespace(postgres_cluster, postgres_url):
    other_schema = schema_name("other_store_")
    other = postgres_cluster.create_schema(other_schema)
    try:
        with psycopg.connect(postgres_url) as a, psycopg.connect(other) as b:
            a.execute("CREATE TABLE records (id text)")
            a.execute("INSERT INTO records VALUES ('only in a')")
            b.execute("CREATE TABLE records (id text)")
            a.commit(), b.commit()
            assert b.execute("SELECT count(*) FROM records").fetchone() == (0,)
            assert a.execute("SELECT count(*) FROM records").fetchone() == (1,)
    finally:
        postgres_cluster.drop_schema(other_schema)


def test_with_the_variable_set_the_tests_attach_to_that_server_and_leave_it_running(postgres_cluster):
    schema = schema_name("attached_")
    with session_server({ATTACH_VARIABLE: postgres_cluster.url}) as attached:
        assert attached.url == postgres_cluster.url
        store = attached.create_schema(schema)
    try:
        with psycopg.connect(store) as conn:  # the schema is on the named server, which still runs
            assert conn.execute("SELECT current_schema()").fetchone() == (schema,)
    finally:
        postgres_cluster.drop_schema(schema)


def test_an_attach_url_that_reaches_no_server_is_an_error_naming_the_variable():
    nothing_there = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=5"
    with pytest.raises(StorageError, match=f"{ATTACH_VARIABLE} names a server the tests cannot reach"):
        with session_server({ATTACH_VARIABLE: nothing_there}):
            pass
