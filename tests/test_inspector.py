"""The web memory inspector over HTTP (in process): every page renders a scope, memory text is escaped,
search shows its explain view, a record shows all its versions, provenance and graph edges, and edits need
an API key whose scope covers the page."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from omne.core import MemoryCore
from omne.service.app import create_app
from omne.service.auth import create_key
from omne.types import Scope
from omne.testing import open_fast_core
from tests.support.inspector_store import ALICE, BOB, SCRIPT, Seeded, seed_two_users


@asynccontextmanager
async def inspector(store: Path, *, keys_required: bool = False) -> AsyncIterator[httpx.AsyncClient]:
    async def open_core() -> MemoryCore:
        return await open_fast_core(store)

    app = create_app(open_core, keys_required=keys_required)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as client:
            yield client


def rows(html: str, table_id: str) -> list[str]:
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]  # without the header row


async def test_every_page_renders_and_memory_text_is_escaped(tmp_path: Path) -> None:
    seeded = await seed_two_users(tmp_path / "store")
    async with inspector(tmp_path / "store") as client:
        home = await client.get("/?user=alice")
        assert home.status_code == 200 and "live records" in home.text
        records = (await client.get("/records?user=alice")).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in records and SCRIPT not in records
        assert "Bob" not in records and "Alice lives in Madrid" in records
        assert "Alice lives in Porto" not in records  # superseded versions only in the history
        facts = rows((await client.get("/records?user=alice&kind=insight")).text, "records")
        assert len(facts) == 1 and "Alice moves often" in facts[0]

        search = (await client.get("/search", params={"user": "alice", "q": "where does Alice live"})).text
        hits = rows(search, "hits")
        assert "Alice lives in Madrid" in hits[0] and 'class="stage"' in hits[0]
        text_search = (await client.get("/search", params={"user": "alice", "q": "Madrid", "mode": "text"})).text
        assert all("Madrid" in hit for hit in rows(text_search, "hits"))
        assert "lexical" in text_search

        record = (await client.get(f"/records/{seeded.fact_versions[-1]}?user=alice")).text
        versions = rows(record, "versions")
        assert [v.count("Alice lives in") for v in versions] == [1, 1, 1]
        assert "Porto" in versions[0] and "superseded" in versions[0] and "current" in versions[2]
        insight = (await client.get(f"/records/{seeded.insight}?user=alice")).text
        assert "Provenance (1 source record(s))" in insight and "Alice lives in Madrid" in insight
        assert insight.count("<line ") == 1 and "derived_from" in insight

        blocks = (await client.get("/blocks?user=alice&label=human")).text
        history = rows(blocks, "block-history")
        assert len(history) == 3 and "Drinks green tea" in history[1] and "agent:helper" in history[2]
        jobs = (await client.get("/jobs?user=alice")).text
        assert "the summary model was unreachable" in jobs and "retry failed jobs" not in jobs  # read-only


async def test_records_page_through_a_scope_newest_first(tmp_path: Path) -> None:
    core = await open_fast_core(tmp_path / "store")
    for i in range(120):
        await core.remember(f"note number {i}", scope=ALICE)
    await core.close()
    async with inspector(tmp_path / "store") as client:
        seen: list[str] = []
        url = "/records?user=alice"
        while url:
            html = (await client.get(url)).text
            seen += [re.search(r"note number \d+", row).group(0) for row in rows(html, "records")]
            found = re.search(r'id="older" href="([^"]+)"', html)
            url = found.group(1).replace("&amp;", "&") if found else ""
        assert seen == [f"note number {i}" for i in reversed(range(120))]


async def test_read_only_without_a_key_and_edits_with_one_inside_its_scope(tmp_path: Path) -> None:
    store = tmp_path / "store"
    seeded = await seed_two_users(store)
    async with inspector(store) as client:  # no keys (loopback): reads yes, edits no
        refused = await client.post(f"/records/{seeded.script}/forget?user=alice")
        assert refused.status_code == 403 and "read-only without an API key" in refused.text
    core = await open_fast_core(store)
    _, alice_key = create_key(core.key_store, scope=ALICE)
    await core.close()
    async with inspector(store, keys_required=True) as client:
        anonymous = await client.get("/records?user=alice")
        assert anonymous.status_code == 401 and 'href="/login"' in anonymous.text
        assert (await client.post("/login", data={"key": "omne_wrong"})).status_code == 401
        login = await client.post("/login", data={"key": alice_key})
        assert login.status_code == 303 and login.headers["location"] == "/?user=alice"
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert (await client.get("/records?user=bob")).status_code == 403
        assert (await client.post(f"/records/{seeded.bob_fact}/forget?user=bob")).status_code == 403

        forgot = await client.post(f"/records/{seeded.script}/forget?user=alice")
        assert forgot.status_code == 303
        page = (await client.get(f"/records/{seeded.script}?user=alice")).text
        assert "forgotten" in rows(page, "versions")[0]
        updated = await client.post(f"/records/{seeded.insight}/update?user=alice", data={"text": "Alice moves a lot"})
        assert updated.status_code == 303
        assert "Alice moves a lot" in (await client.get(updated.headers["location"])).text
        jobs = (await client.get("/jobs?user=alice")).text
        assert "retry failed jobs" in jobs
        assert (await client.post("/jobs/retry?user=alice")).status_code == 303
        assert "failed: 0" in (await client.get("/jobs?user=alice")).text
    core = await open_fast_core(store)
    try:
        assert (await core.get(seeded.bob_fact, scope=BOB)).live
    finally:
        await core.close()


@pytest.mark.subprocess
def test_omne_inspect_serves_the_inspector_on_a_local_store(tmp_path: Path, embedder) -> None:
    import asyncio
    import os
    import subprocess
    import sys
    import time

    from tests.support.server_proc import ROOT, free_port

    async def make() -> None:
        async with await MemoryCore.open(tmp_path / "store", embedder=embedder) as core:
            await core.remember("<b>bold</b> claim", scope=ALICE)

    asyncio.run(make())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    missing = subprocess.run([sys.executable, "-m", "omne", "inspect", "--store", str(tmp_path / "nowhere")],
                             env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1 and "no Omne store at" in missing.stderr
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "omne", "inspect", "--store", str(tmp_path / "store"), "--port",
                             str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, page = time.monotonic() + 180, None
        while time.monotonic() < deadline and page is None:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/records?user=alice", timeout=2)
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.2)
        assert page is not None and page.status_code == 200
        assert "&lt;b&gt;bold&lt;/b&gt; claim" in page.text
    finally:
        proc.terminate()
        proc.wait(30)
