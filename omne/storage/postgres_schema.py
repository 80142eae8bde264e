"""Versioned schema migrations for the PostgreSQL record store (table `omne_schema`), applied under an advisory
lock so that processes opening one database at the same time migrate it once.

The tables mirror the SQLite store's (omne/storage/sqlite_schema.py): times are `timestamptz` (UTC), lists
that are filtered on are `jsonb`, and JSON objects are kept as the text written (key order and numbers exactly
as given, so an export reads back byte for byte). The store lives in the connection's schema (the first one
on its `search_path`), so several stores can share one database in schemas of their own.
"""

from __future__ import annotations

from typing import Any

import psycopg

# Each entry migrates from version i to i + 1. Append only; never edit a shipped migration.
MIGRATIONS: list[str] = [
    # 1: records, edges, context state, construction jobs and cursors, API keys (SQLite migrations 1-4)
    """
    CREATE TABLE records (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        text TEXT NOT NULL,
        role TEXT, name TEXT,
        data TEXT, schema_name TEXT,
        tags JSONB NOT NULL DEFAULT '[]',
        importance DOUBLE PRECISION NOT NULL DEFAULT 0.5,
        source_ids JSONB NOT NULL DEFAULT '[]',
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at TIMESTAMPTZ NOT NULL,
        event_time TIMESTAMPTZ,
        t TIMESTAMPTZ NOT NULL,
        valid_from TIMESTAMPTZ, valid_to TIMESTAMPTZ,
        superseded_by TEXT,
        deleted_at TIMESTAMPTZ,
        version INTEGER NOT NULL DEFAULT 1,
        index_dirty BOOLEAN NOT NULL DEFAULT TRUE
    );
    CREATE INDEX records_user ON records(s_user, kind, t);
    CREATE INDEX records_agent ON records(s_agent);
    CREATE INDEX records_session ON records(s_session);
    CREATE INDEX records_team ON records(s_team);
    CREATE INDEX records_dirty ON records(seq) WHERE index_dirty;
    CREATE INDEX records_superseded ON records(superseded_by);
    CREATE INDEX records_live_messages ON records(s_user, s_agent, s_session, s_team, t, seq)
        WHERE kind = 'message' AND superseded_by IS NULL AND deleted_at IS NULL;
    CREATE TABLE edges (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL,
        weight DOUBLE PRECISION NOT NULL DEFAULT 1.0,
        data TEXT NOT NULL DEFAULT '{}',
        created_at TIMESTAMPTZ NOT NULL,
        UNIQUE (src, dst, kind)
    );
    CREATE INDEX edges_src ON edges(src, kind);
    CREATE INDEX edges_dst ON edges(dst, kind);
    CREATE INDEX edges_user ON edges(s_user, kind);
    CREATE TABLE context_state (
        context_id TEXT NOT NULL,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        state TEXT NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL
    );
    CREATE UNIQUE INDEX context_state_key ON context_state(
        context_id, COALESCE(s_user, ''), COALESCE(s_agent, ''), COALESCE(s_session, ''), COALESCE(s_team, ''));
    CREATE TABLE jobs (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 5,
        run_after TIMESTAMPTZ NOT NULL,
        lease_owner TEXT,
        lease_expires TIMESTAMPTZ,
        rerun BOOLEAN NOT NULL DEFAULT FALSE,
        errors TEXT NOT NULL DEFAULT '[]',
        result TEXT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ
    );
    CREATE INDEX jobs_ready ON jobs(status, run_after);
    CREATE TABLE job_cursors (
        name TEXT PRIMARY KEY,
        seq BIGINT NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        admin BOOLEAN NOT NULL DEFAULT FALSE,
        label TEXT NOT NULL DEFAULT '',
        created_at TIMESTAMPTZ NOT NULL,
        revoked_at TIMESTAMPTZ
    );
    """,
    # 2: what several servers need to derive their own vector indexes from the shared log (omne/storage/
    # postgres_vectors.py): the store's identity; `change_seq`, a record's position in the change log (taken
    # anew, by a trigger, whenever a change reaches the index: insert, import, supersede, forget; not
    # annotate, whose importance and metadata no index holds), always under the log lock that every such write
    # takes first, so positions follow commit order; and each record's vector per embedding model, written by
    # whichever server embedded it (`text_hash`: of the text embedded, so an import that changes a record's
    # text makes its old vector unusable).
    """
    CREATE TABLE omne_store (id TEXT NOT NULL);
    INSERT INTO omne_store (id) VALUES (gen_random_uuid()::text);
    CREATE SEQUENCE record_changes;
    ALTER TABLE records ADD COLUMN change_seq BIGINT NOT NULL DEFAULT nextval('record_changes');
    CREATE UNIQUE INDEX records_change_seq ON records(change_seq);
    CREATE FUNCTION omne_record_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.change_seq := nextval('record_changes');
        RETURN NEW;
    END $$;
    CREATE TRIGGER records_changed BEFORE UPDATE OF id, kind, s_user, s_agent, s_session, s_team, text, role,
        name, tags, event_time, t, superseded_by, deleted_at ON records
        FOR EACH ROW EXECUTE FUNCTION omne_record_changed();
    CREATE TABLE record_vectors (
        record_id TEXT NOT NULL,
        model TEXT NOT NULL,
        text_hash BYTEA NOT NULL,
        vector BYTEA NOT NULL,
        PRIMARY KEY (record_id, model)
    );
    """,
    # 3: each record's contextual vector (omne.storage.context) beside its vector, written by the same server
    # in the same row, so a server that catches up indexes it without embedding (NULL: the record has none, and
    # its vector serves; rows stored before this migration have none)
    """
    ALTER TABLE record_vectors ADD COLUMN context BYTEA;
    """,
]


def migrate(conn: psycopg.Connection[dict[str, Any]]) -> int:
    """Bring the connection's schema to the newest version (one transaction); returns the version reached."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.omne_schema'))")
        conn.execute("CREATE TABLE IF NOT EXISTS omne_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM omne_schema").fetchone()
        version = 0 if row is None else int(row["version"])
        if version > len(MIGRATIONS):
            raise RuntimeError(f"this database was written by a newer Omne (schema {version}, this one knows "
                               f"{len(MIGRATIONS)}): upgrade Omne to open it")
        for index in range(version, len(MIGRATIONS)):
            conn.execute(MIGRATIONS[index].encode())  # trusted DDL, several statements (no parameters)
        if row is None:
            conn.execute("INSERT INTO omne_schema (version) VALUES (%s)", (len(MIGRATIONS),))
        else:
            conn.execute("UPDATE omne_schema SET version = %s", (len(MIGRATIONS),))
    return len(MIGRATIONS)
