"""Several `omne serve` processes on one PostgreSQL database serve one memory: each keeps its own vector index,
derived from the shared log (omne.storage.log_follower). Real server processes (tests.support.serve_child: the
real `serve` on the hashing test embedder) on the session's throwaway PostgreSQL cluster."""

from __future__ import annotations

import json
import signal
import threading
import time

from omne import Scope
from omne.sync import SyncMemoryCore
from tests.support.server_proc import Server, WriteLoop, running_server, start_server, stop_server

U = Scope(user="u")


def _found(client: SyncMemoryCore, query: str, record_id: str) -> bool:
    return record_id in [hit.record.id for hit in client.search(query, scope=U, top_k=3)]


def _seconds_until_found(client: SyncMemoryCore, query: str, record_id: str, limit_s: float = 1.0) -> float:
    start = time.monotonic()
    while not _found(client, query, record_id):
        assert time.monotonic() - start < limit_s, f"{record_id} not found within {limit_s} s"
        time.sleep(0.02)
    return time.monotonic() - start


def test_a_record_added_through_server_a_is_found_by_a_search_on_server_b_within_a_second(database, tmp_path):
    with running_server(tmp_path / "a") as a, running_server(tmp_path / "b") as b, \
            SyncMemoryCore.connect(a.url) as via_a, SyncMemoryCore.connect(b.url) as via_b:
        for n in range(5):
            added = via_a.remember(f"the ferry number {n} leaves from pier {n}", scope=U)
            _seconds_until_found(via_b, f"ferry number {n} pier {n}", added.id)
        added = via_b.remember("the harbour master is called Morag", scope=U)  # and the other way round
        _seconds_until_found(via_a, "harbour master", added.id)


def test_a_forget_or_update_through_server_a_leaves_no_stale_hit_on_server_b(database, tmp_path):
    with running_server(tmp_path / "a") as a, running_server(tmp_path / "b") as b, \
            SyncMemoryCore.connect(a.url) as via_a, SyncMemoryCore.connect(b.url) as via_b:
        gone = via_a.remember("the locker code is 4711", scope=U)
        old = via_a.remember("the meeting room is Birch", scope=U)
        _seconds_until_found(via_b, "locker code 4711", gone.id)
        _seconds_until_found(via_b, "meeting room Birch", old.id)
        via_a.forget(gone.id, scope=U)
        assert not _found(via_b, "locker code 4711", gone.id)  # at once: B's read path re-checks the log
        new = via_a.update(old.id, scope=U, text="the meeting room is Cedar")
        assert not _found(via_b, "meeting room Birch", old.id)
        _seconds_until_found(via_b, "meeting room Cedar", new.id)
        deadline = time.monotonic() + 5
        while (stats := via_b.stats(U))["vectors"] != 1:  # the forgotten and superseded points leave B's index
            assert time.monotonic() < deadline, stats
            time.sleep(0.05)
        assert stats["records"] == 1


class ReadLoop:
    """A client thread searching server B until stopped; `errors`: any request that failed."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answered = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self) -> None:
        with SyncMemoryCore.connect(self.url) as client:
            while not self._stop.is_set():
                try:
                    client.search("note", scope=U, top_k=5)
                    self.answered += 1
                except Exception as exc:  # noqa: BLE001 - the test asserts there is none
                    self.errors.append(repr(exc))

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(60)


def test_sigkill_of_server_a_during_writes_loses_no_acknowledged_write_and_b_keeps_serving(database, tmp_path):
    b = start_server(tmp_path / "b")
    a: Server | None = None
    reads = ReadLoop(b.url)
    try:
        a = start_server(tmp_path / "a")
        writes = WriteLoop(a.url)
        writes.wait_for(200)
        answered_before = reads.answered
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        writes.thread.join(30)
        assert len(writes.acked) >= 200 and writes.failed == ["BackendUnavailableError"]
        with SyncMemoryCore.connect(b.url) as via_b:
            assert len(via_b.get_many(writes.acked, scope=U)) == len(writes.acked)  # all in the shared log
            deadline = time.monotonic() + 10  # a write A committed but died before embedding: B embeds it
            while (stats := via_b.stats(U))["vectors"] != stats["records"] or stats["pending_index"]:
                assert time.monotonic() < deadline, stats
                time.sleep(0.1)
            assert stats["records"] >= len(writes.acked)
            step = max(1, len(writes.acked) // 20)
            for n in [*range(0, len(writes.acked), step), *range(len(writes.acked) - 5, len(writes.acked))]:
                assert _found(via_b, f"note {n}", writes.acked[n]), n  # every acknowledged write B's search finds
        time.sleep(0.5)
        assert reads.answered > answered_before  # B answered throughout, after the kill too
    finally:
        reads.stop()
        stop_server(b)
        if a is not None:
            stop_server(a)
    assert reads.errors == []


def test_a_server_started_later_catches_up_without_embedding_what_others_embedded(database, tmp_path, monkeypatch):
    texts = [f"harbour note number {n}" for n in range(50)]
    with running_server(tmp_path / "a") as a, running_server(tmp_path / "b") as b, \
            SyncMemoryCore.connect(a.url) as via_a, SyncMemoryCore.connect(b.url) as via_b:
        ids = [(via_a if n % 2 else via_b).remember(text, scope=U).id for n, text in enumerate(texts)]
        via_a.forget(ids[0], scope=U)
    embedded = tmp_path / "embedded-by-c.jsonl"
    monkeypatch.setenv("OMNE_TEST_EMBED_LOG", str(embedded))
    with running_server(tmp_path / "c") as c, SyncMemoryCore.connect(c.url) as via_c:
        stats = via_c.stats(U)
        assert stats["vectors"] == stats["records"] == 49 and stats["pending_index"] == 0  # caught up on open
        assert _found(via_c, "number 17 harbour note", ids[17]) and not _found(via_c, "number 0 harbour note", ids[0])
    by_c = {json.loads(line) for line in embedded.read_text().splitlines()}
    assert by_c and not by_c & set(texts)  # C embedded its warm-up and queries, no record
