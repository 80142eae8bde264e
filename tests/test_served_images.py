"""Images recorded by the agent layers through `omne serve` (a real server process on loopback): a MultiModalMessage
in an OmneContext, and an image and an unreadable binary MemoryContent in OmneMemory, reach the served store
(linked, captioned, their originals kept there), and nothing is written beside the client."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import MultiModalMessage
from autogen_core import Image as AGImage
from autogen_core.memory import MemoryContent, MemoryMimeType
from PIL import Image

from omne.agents import AgentMemory
from omne.errors import InvalidInputError
from omne.ingest import Provenance
from omne.service import RemoteMemoryCore
from omne.testing import FunctionModel, open_fast_core
from omne.types import EdgeKind, RecordKind, Scope
from tests.support.served import served
from tests.support.server_proc import running_server


def _picture(colour: tuple[int, int, int]) -> AGImage:
    return AGImage.from_pil(Image.new("RGB", (24, 12), colour))


async def test_images_recorded_through_a_server_are_stored_there_and_read_back(tmp_path: Path, monkeypatch):
    workdir = tmp_path / "client-cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # a client must not keep blobs of its own (it has no store directory)
    with running_server(tmp_path / "store") as server:
        async with RemoteMemoryCore(server.url) as remote:
            mem = await AgentMemory.open(remote, agent="helper", user="alice")
            model = FunctionModel(lambda messages, tools: "What a fine kayak.", vision=True)
            agent = AssistantAgent("helper", model, system_message=None,
                                   model_context=mem.context(model, window_tokens=4096))
            await agent.run(task=MultiModalMessage(source="user", content=["My new red kayak, bought in Oslo",
                                                                           _picture((200, 30, 30))]))
            await mem.autogen_memory().add(MemoryContent(content=_picture((30, 90, 200)), mime_type=MemoryMimeType.IMAGE,
                                                         metadata={"alt": "the blue dinghy at the pontoon"}))
            await mem.autogen_memory().add(MemoryContent(content=bytes(range(256)), mime_type="application/x-firmware",
                                                         metadata={"filename": "gps.bin"}))

            (said,) = await remote.list(scope=mem.session_scope, kinds=[RecordKind.MESSAGE], roles=["user"])
            edges = await remote.edges(scope=mem.session_scope, record_ids=[said.id])
            attached = [e.dst for e in edges if e.kind is EdgeKind.ATTACHED and e.src == said.id]
            (image,) = await remote.get_many(attached, scope=mem.session_scope)
            prov = Provenance.of(image)
            assert prov is not None and prov.image is not None and prov.message_id == said.id
            assert prov.image.caption == "My new red kayak, bought in Oslo"
            assert prov.source.blob  # the original kept by the server

            docs = await remote.list(scope=mem.scope, kinds=[RecordKind.DOCUMENT])
            captions = {p.image.caption for r in docs if (p := Provenance.of(r)) is not None and p.image}
            assert captions == {"My new red kayak, bought in Oslo", "the blue dinghy at the pontoon"}
            (firmware,) = [r for r in docs if "binary" in r.tags]
            assert firmware.name == "gps.bin" and Provenance.of(firmware).source.mime == "application/x-firmware"
            hits = await remote.search("blue dinghy pontoon", scope=mem.scope, kinds=[RecordKind.DOCUMENT])
            assert hits and "the blue dinghy at the pontoon" in hits[0].record.text
    assert os.listdir(workdir) == []
    kept = [p for p in (tmp_path / "store" / "blobs").rglob("*") if p.is_file()]
    assert len(kept) == 3  # every original (two images, the firmware), in the served store


async def test_a_vision_model_cannot_travel_to_a_server_and_the_error_says_what_to_do(tmp_path):
    core = await open_fast_core(tmp_path / "store")
    try:
        async with served(core) as remote:
            png = base64.b64decode(_picture((1, 2, 3)).to_base64())
            with pytest.raises(InvalidInputError, match="ImageContext"):
                await remote.ingest(png, scope=Scope(user="u"), vision=FunctionModel(lambda m, t: "x", vision=True))
            assert await remote.list(scope=Scope(user="u")) == []
    finally:
        await core.close()
