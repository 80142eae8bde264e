"""The ingest upload's form, apart from the other wire models: only an ingest call imports it (and with it the
ingest and image models), so a CLI call through a server that searches or reads does not."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from omne.ingest.images import ImageContext
from omne.ingest.models import IngestOptions


class IngestForm(BaseModel):
    """The JSON `options` field of an ingest upload: the JSON-able keywords of `MemoryCore.ingest`."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None  # None: the upload's file name; "": unnamed bytes (named by their content hash)
    options: IngestOptions | None = None
    message_id: str | None = None
    context: ImageContext | None = None  # what the message around an image says about it (for its caption)
    mime: str | None = None
    metadata: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)
