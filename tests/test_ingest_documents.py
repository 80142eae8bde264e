"""Documents of every supported format: ingest, find by content with location, idempotence, supersession."""

from __future__ import annotations

import hashlib

from omne import Scope
from omne.ingest import IngestOptions, Provenance, format_location, search_files
from omne.types import EdgeKind, RecordKind
from tests.ingest_samples import SAMPLE_PHRASES, pdf_bytes, write_samples

U1 = Scope(user="u1")


async def test_every_format_is_found_by_a_phrase_with_its_location(core, tmp_path):
    files = write_samples(tmp_path / "files")
    for key, path in files.items():
        result = await core.ingest(path, scope=U1)
        assert result.status == "added", key
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for record in result.records:
            prov = Provenance.of(record)
            assert record.kind is RecordKind.DOCUMENT
            assert prov.source.file == path.name and prov.source.sha256 == digest
            assert prov.source.source == str(path.resolve())
            assert prov.chunks == len(result.records)
    for key, (query, phrase, location) in SAMPLE_PHRASES.items():
        hits = await search_files(core, query, scope=U1, modality="document", top_k=3)
        top = hits[0].record
        assert phrase in top.text, (key, [h.record.text for h in hits])
        assert format_location(top) == location, key


async def test_reingesting_an_unchanged_file_adds_nothing(core, tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf_bytes([["Alpha page"], ["Beta page"]]))
    first = await core.ingest(path, scope=U1)
    before = await core.stats(U1)
    again = await core.ingest(path, scope=U1)
    assert again.status == "unchanged"
    assert [r.id for r in again.records] == [r.id for r in first.records]
    assert await core.stats(U1) == before


async def test_a_changed_file_supersedes_its_old_chunks_and_keeps_history(core, tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("# Plants\n\nThe fern needs water on Mondays.\n\n# Pets\n\nThe cat eats at six.\n"
                    "\n# Car\n\nTyres were changed in May.\n")
    first = await core.ingest(path, scope=U1)
    assert len(first.records) == 3
    path.write_text("# Plants\n\nThe fern needs water on Thursdays.\n\n# Pets\n\nThe cat eats at seven.\n")
    second = await core.ingest(path, scope=U1)
    assert second.status == "superseded" and second.superseded == 2 and second.forgotten == 1
    stats = await core.stats(U1)
    assert stats["records"] == 2 and stats["records_with_history"] == 5
    # the live chunks say Thursdays; the Monday version is history, no longer found by search
    hits = await search_files(core, "when does the fern need water", scope=U1, top_k=5)
    assert "Thursdays" in hits[0].record.text
    assert not any("Mondays" in h.record.text for h in hits)
    fern = next(r for r in second.records if "fern" in r.text)
    versions = await core.history(fern.id, scope=U1)
    assert [v.version for v in versions] == [1, 2]
    assert "Mondays" in versions[0].text and versions[0].superseded_by == fern.id
    supersedes = [e for e in await core.edges(scope=U1, record_ids=[fern.id]) if e.kind is EdgeKind.SUPERSEDES]
    assert [(e.src, e.dst) for e in supersedes] == [(fern.id, versions[0].id)]
    # the chunk with no counterpart was forgotten explicitly: still in the log, out of search
    car = next(r for r in first.records if "Tyres" in r.text)
    assert (await core.get(car.id, scope=U1)).deleted_at is not None
    # and a third ingest of the same content is a no-op
    assert (await core.ingest(path, scope=U1)).status == "unchanged"


async def test_bytes_are_ingested_under_a_name_or_their_hash(core):
    named = await core.ingest(b"The lighthouse keeper retires in June.", scope=U1, name="memo.txt")
    assert format_location(named.records[0]) == "memo.txt, lines 1"
    unnamed = await core.ingest(b'{"planet": "Neptune", "moons": 16}', scope=U1)
    prov = Provenance.of(unnamed.records[0])
    assert prov.source.format == "json" and prov.source.source == f"sha256:{prov.source.sha256}"
    assert (await core.ingest(b'{"planet": "Neptune", "moons": 16}', scope=U1)).status == "unchanged"


async def test_scopes_are_partitioned(core, tmp_path):
    path = write_samples(tmp_path / "files")["txt"]
    await core.ingest(path, scope=U1)
    assert await search_files(core, "kettle broke", scope=Scope(user="u2")) == []
    assert (await core.ingest(path, scope=Scope(user="u2"))).status == "added"


async def test_a_long_file_is_chunked_within_the_token_limit_and_written_in_batches(core, tmp_path):
    paragraphs = [f"Paragraph {i} records that shipment {i} left dock {i % 7} carrying {i * 3} crates of "
                  f"oranges, which the harbour master logged at {i % 24} o'clock." for i in range(30)]
    path = tmp_path / "log.txt"
    path.write_text("\n\n".join(paragraphs) + "\n\n" + "overflowing " * 150)
    events = []
    result = await core.ingest(path, scope=U1, options=IngestOptions(chunk_tokens=64, batch_size=4),
                               progress=lambda stage, done, total: events.append((stage, done, total)))
    counter = core.embedder.tokenizer
    sizes = [len(counter.encode(r.text, add_special_tokens=False).ids) for r in result.records]
    assert max(sizes) <= 64 and len(result.records) > 12
    stores = [e for e in events if e[0] == "store"]
    assert len(stores) == -(-len(result.records) // 4) and stores[-1][1:] == (len(result.records),) * 2
    hit = (await search_files(core, "shipment 17 crates", scope=U1, top_k=3))[0].record
    assert "shipment 17 left" in hit.text
    first, last = Provenance.of(hit).location.lines
    assert "shipment 17 left" in "\n".join(path.read_text().splitlines()[first - 1:last])


async def test_a_pdf_reports_reading_progress_page_by_page(core, tmp_path):
    path = tmp_path / "pages.pdf"
    path.write_bytes(pdf_bytes([[f"Page {n} mentions the colour number {n}"] for n in range(1, 6)]))
    events = []
    result = await core.ingest(path, scope=U1, progress=lambda *e: events.append(e))
    assert [e for e in events if e[0] == "read"] == [("read", n, 5) for n in range(1, 6)]
    assert [format_location(r) for r in result.records] == [f"pages.pdf, page {n}" for n in range(1, 6)]


async def test_a_narrower_scope_keeps_its_own_copy(core, tmp_path):
    path = tmp_path / "plan.txt"
    path.write_text("The offsite is in Lisbon.")
    session = Scope(user="u1", session="s9")
    in_session = await core.ingest(path, scope=session)
    path.write_text("The offsite moved to Porto.")
    for_user = await core.ingest(path, scope=U1)
    assert for_user.status == "added"  # the session's copy is not the user's to supersede
    assert (await core.get(in_session.records[0].id, scope=session)).live
