"""Versioned schema migrations for the SQLite record store (`PRAGMA user_version`), and the one way to open it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from omne.errors import StorageError

# Each entry migrates from version i to i + 1. Append only; never edit a shipped migration.
MIGRATIONS: list[str] = [
    # 1: the record log, typed edges between records
    """
    CREATE TABLE records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        text TEXT NOT NULL,
        role TEXT, name TEXT,
        data TEXT, schema_name TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        importance REAL NOT NULL DEFAULT 0.5,
        source_ids TEXT NOT NULL DEFAULT '[]',
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        event_time TEXT,
        t TEXT NOT NULL,
        valid_from TEXT, valid_to TEXT,
        superseded_by TEXT,
        deleted_at TEXT,
        version INTEGER NOT NULL DEFAULT 1,
        index_dirty INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX records_user ON records(s_user, kind, t);
    CREATE INDEX records_agent ON records(s_agent);
    CREATE INDEX records_session ON records(s_session);
    CREATE INDEX records_team ON records(s_team);
    CREATE INDEX records_dirty ON records(index_dirty) WHERE index_dirty = 1;
    CREATE INDEX records_superseded ON records(superseded_by);
    CREATE TABLE edges (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        src TEXT NOT NULL, dst TEXT NOT NULL, kind TEXT NOT NULL,
        weight REAL NOT NULL DEFAULT 1.0,
        data TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        UNIQUE (src, dst, kind)
    );
    CREATE INDEX edges_src ON edges(src);
    CREATE INDEX edges_dst ON edges(dst);
    CREATE INDEX edges_user ON edges(s_user, kind);
    """,
    # 2: agent context state (virtual context manager: running summary and message ids in the window)
    """
    CREATE TABLE context_state (
        context_id TEXT NOT NULL,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        state TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX context_state_key ON context_state(
        context_id, COALESCE(s_user, ''), COALESCE(s_agent, ''), COALESCE(s_session, ''), COALESCE(s_team, ''));
    """,
    # 3: the construction job queue (omne.construction.jobs) and its cursor over the record log
    """
    CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        payload TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'running', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL DEFAULT 5,
        run_after TEXT NOT NULL,
        lease_owner TEXT,
        lease_expires TEXT,
        rerun INTEGER NOT NULL DEFAULT 0,
        errors TEXT NOT NULL DEFAULT '[]',
        result TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE INDEX jobs_ready ON jobs(status, run_after);
    CREATE TABLE job_cursors (
        name TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    """,
    # 4: API keys of `omne serve` (only a SHA-256 of each key is kept), each bound to a scope or admin
    """
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        key_hash TEXT NOT NULL UNIQUE,
        s_user TEXT, s_agent TEXT, s_session TEXT, s_team TEXT,
        admin INTEGER NOT NULL DEFAULT 0,
        label TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest schema; returns the version reached."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise RuntimeError(
            f"this store was written by a newer Omne (schema {version}, this one knows "
            f"{len(MIGRATIONS)}): upgrade Omne to open it"
        )
    for index in range(version, len(MIGRATIONS)):
        conn.executescript("BEGIN IMMEDIATE;" + MIGRATIONS[index] + f"; PRAGMA user_version = {index + 1}; COMMIT;")
    return len(MIGRATIONS)


# Reads through a memory map instead of a read() call per page: a search's id lookups (about 150 random rows) at a
# million records took 1.0 ms instead of 4.7 (benchmarks/RESULTS-core.md). Python's SQLite caps it at 2 GiB (about
# 2.4 million records); the rest of a larger file is read as before. Writes are unchanged.
MMAP_BYTES = 2**31


def open_database(path: Path, *, what: str, foreign_keys: bool = False) -> sqlite3.Connection:
    """A WAL connection (rows as sqlite3.Row, autocommit, thread-shareable) to the store's SQLite file, migrated
    to the current schema. Fails with one StorageError naming `what`, the file and the fix."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        if foreign_keys:
            conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except (sqlite3.OperationalError, OSError) as exc:  # OSError: no permission, a file where a folder goes, ...
        raise StorageError(f"cannot open {what} at {path}: {exc}. "
                           "Check that the directory exists, is writable and has free space.") from exc
    return conn
