"""One MemoryCore per store directory per process: acquire/release counts users, register shares an owner's core."""

from __future__ import annotations

from omne.agents.shared import acquire_core, register, release_core, unregister
from omne.testing import HashEmbedder, open_fast_core


async def test_acquirers_share_one_core_and_the_last_release_closes_it(tmp_path):
    first = await acquire_core(tmp_path / "store", embedder=HashEmbedder())
    second = await acquire_core(tmp_path / "store" / ".." / "store")
    assert second is first
    await release_core(first)
    assert not first.closed
    await release_core(second)
    assert first.closed
    reopened = await acquire_core(tmp_path / "store", embedder=HashEmbedder())
    assert reopened is not first and not reopened.closed
    await release_core(reopened)


async def test_a_registered_core_is_shared_but_never_closed_by_acquirers(tmp_path):
    owned = await open_fast_core(tmp_path / "store")
    assert register(owned) is owned
    assert await acquire_core(tmp_path / "store") is owned
    await release_core(owned)
    assert not owned.closed  # its owner closes it
    await owned.close()  # ... without unregistering: the registry drops the closed core
    fresh = await acquire_core(tmp_path / "store", embedder=HashEmbedder())
    assert fresh is not owned and not fresh.closed
    await release_core(fresh)
    other = await open_fast_core(tmp_path / "other")
    assert register(other) is other
    unregister(other)
    await other.close()
    again = await acquire_core(tmp_path / "other", embedder=HashEmbedder())
    assert again is not other
    await release_core(again)
