"""The throwaway PostgreSQL cluster the PostgreSQL store tests run on: it starts, isolates each test's store in
its own schema, and leaves nothing behind."""

from __future__ import annotations

import psycopg

from omne.testing import throwaway_cluster


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
    other = postgres_cluster.create_schema("other_store")
    try:
        with psycopg.connect(postgres_url) as a, psycopg.connect(other) as b:
            a.execute("CREATE TABLE records (id text)")
            a.execute("INSERT INTO records VALUES ('only in a')")
            b.execute("CREATE TABLE records (id text)")
            a.commit(), b.commit()
            assert b.execute("SELECT count(*) FROM records").fetchone() == (0,)
            assert a.execute("SELECT count(*) FROM records").fetchone() == (1,)
    finally:
        postgres_cluster.drop_schema("other_store")
