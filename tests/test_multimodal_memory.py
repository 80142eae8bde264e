"""Non-text memory through the agent layers: OmneMemory.add takes any MemoryContent, and images in messages (a
MultiModalMessage in an AssistantAgent with an OmneContext, or sent to a responder) become linked image records."""

from __future__ import annotations

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import MultiModalMessage
from autogen_core import CancellationToken
from autogen_core import Image as AGImage
from autogen_core.memory import MemoryContent, MemoryMimeType
from PIL import Image

from assistants import SimpleResponder
from omne.agents import AgentMemory
from omne.agents.shared import unregister
from omne.ingest import Provenance, format_location
from omne.types import EdgeKind, RecordKind, Scope
from tests.ingest_samples import pdf_bytes
from omne.testing import FunctionModel, replay


def _picture() -> AGImage:
    return AGImage.from_pil(Image.new("RGB", (24, 12), (30, 90, 200)))


async def _attached(core, scope, message_id):
    edges = await core.edges(scope=scope, record_ids=[message_id])
    ids = [e.dst for e in edges if e.kind is EdgeKind.ATTACHED and e.src == message_id]
    return await core.get_many(ids, scope=scope)


async def test_omne_memory_add_stores_documents_images_and_blobs_with_their_locations(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice")
    memory = mem.autogen_memory()
    await memory.add(MemoryContent(content=pdf_bytes([["Cover"], ["The dinghy insurance renews in March"]]),
                                   mime_type=MemoryMimeType.BINARY, metadata={"filename": "policy.pdf", "tags": ["boat"]}))
    await memory.add(MemoryContent(content=_picture(), mime_type=MemoryMimeType.IMAGE,
                                   metadata={"alt": "the blue dinghy at the pontoon"}))
    await memory.add(MemoryContent(content=bytes(range(256)), mime_type="application/x-firmware",
                                   metadata={"filename": "gps.bin"}))
    docs = await fast_core.list(scope=mem.scope, kinds=[RecordKind.DOCUMENT])
    by_location = {format_location(r): r for r in docs}
    picture = next(loc for loc in by_location if loc.endswith(".png, image 24x12"))  # named by its content hash
    assert set(by_location) == {"policy.pdf, page 1", "policy.pdf, page 2", picture, "gps.bin"}
    assert all("boat" in r.tags for r in docs if r.name == "policy.pdf")
    assert all(r.metadata["written_by"] == "agent:helper" for r in docs)
    assert Provenance.of(by_location[picture]).image.caption == "the blue dinghy at the pontoon"
    found = await mem.tools()[-1].run_json({"query": "dinghy insurance renews"}, CancellationToken())
    assert "location: policy.pdf, page 2" in found and "> The dinghy insurance renews in March" in found
    assert (await memory.query("blue dinghy pontoon")).results[0].metadata["kind"] == "document"


async def test_a_multimodal_message_in_an_omne_context_is_recalled_with_its_image(fast_core):
    mem = await AgentMemory.open(fast_core, agent="helper", user="alice")
    model = FunctionModel(lambda messages, tools: "What a fine kayak.", vision=True)
    agent = AssistantAgent("helper", model, system_message=None, model_context=mem.context(model, window_tokens=4096))
    await agent.run(task=MultiModalMessage(source="user", content=["My new red kayak, bought in Oslo", _picture()]))
    (said,) = await fast_core.list(scope=mem.session_scope, kinds=[RecordKind.MESSAGE], roles=["user"])
    assert said.text.startswith("My new red kayak, bought in Oslo")
    (image,) = await _attached(fast_core, mem.session_scope, said.id)
    prov = Provenance.of(image)
    assert prov.image.caption == "My new red kayak, bought in Oslo" and prov.message_id == said.id
    assert isinstance(model.prompts[0][-1].content[1], AGImage)  # the model still saw the picture


async def test_a_responder_records_the_images_of_a_multimodal_turn(fast_core):
    mate = SimpleResponder("mate", replay("A tidy knot."), memory=fast_core, user="u", team="crew")
    await mate.run(task=MultiModalMessage(source="user", content=["The bowline I tied this morning", _picture()]))
    for scope in (Scope(user="u", agent="mate"), Scope(user="u", team="crew")):
        (said,) = [r for r in await fast_core.list(scope=scope, kinds=[RecordKind.MESSAGE]) if r.role == "user"]
        (image,) = await _attached(fast_core, said.scope, said.id)
        assert Provenance.of(image).image.caption == "The bowline I tied this morning"
    unregister(fast_core)
