"""SFT export through a server reads the served store's fact schemas (`fact_schemas`, GET /v1/schemas): a schema
registered on the server names the subject of its facts' questions, as it does embedded."""

from __future__ import annotations

import io
import json
from typing import ClassVar

from omne.construction import export_sft
from omne.schemas import FactSchema
from omne.testing import open_fast_core
from omne.types import Scope
from tests.support.served import served


class Boat(FactSchema):
    identity_fields: ClassVar[tuple[str, ...]] = ("boat",)

    owner: str
    boat: str


async def _export(core) -> list[dict]:
    out = io.StringIO()
    await export_sft(core, out, scope=Scope(user="ada"))
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_sft_export_through_a_server_matches_the_embedded_export(tmp_path):
    core = await open_fast_core(tmp_path / "store")
    try:
        core.schemas.register("boat", Boat)
        await core.remember("Ada's boat is the Mango.", scope=Scope(user="ada"), schema_name="boat",
                            data={"owner": "Ada", "boat": "Mango"})
        embedded = await _export(core)
        assert embedded[0]["messages"][1]["content"] == "What do you know about Mango?"
        async with served(core) as remote:
            assert await _export(remote) == embedded
            assert (await remote.fact_schemas())["boat"] == ["boat"]
    finally:
        await core.close()
