"""AutoGen messages and memory contents into records: text, JSON, markdown, images and binaries.

`records_from_content` is what a `autogen_core.memory.Memory` adapter calls for `MemoryContent`;
`records_from_message` stores a chat message (e.g. `MultiModalMessage`) for the recall log, with
each image ingested as an attachment and linked to the message by an ATTACHED edge.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from pydantic import BaseModel

from omne.errors import InvalidInputError
from omne.ingest.images import ImageContext, inspect_image
from omne.ingest.models import IngestOptions
from omne.ingest.writer import attach_edges
from omne.types import Record, RecordKind, Scope
from omne.validation import make_record

if TYPE_CHECKING:
    from autogen_agentchat.messages import BaseChatMessage
    from autogen_core.memory import MemoryContent

    from omne.verbs import CoreVerbs

_NAME_KEYS = ("filename", "file_name", "name", "path")
_ALT_KEYS = ("alt", "alt_text", "caption", "description")
_CONVERTED_TEXT = {"text/html": ".html", "text/csv": ".csv"}
_DATA_URI = re.compile(r"^data:([\w/+.-]+);base64,(.*)$", re.DOTALL)


class MessageRecords(BaseModel):
    """A stored chat message and the records of its attachments."""

    message: Record
    attachments: list[Record]


def _mime_of(content: MemoryContent) -> str:
    mime = content.mime_type
    return str(getattr(mime, "value", mime)).strip().lower()


class _Stored(TypedDict):
    """Where and how the records of one content item are stored (the same for every way of storing it)."""

    scope: Scope
    message_id: str | None
    metadata: dict[str, Any]
    options: IngestOptions | None
    tags: list[str]


def _jsonable(metadata: dict[str, Any] | None) -> dict[str, Any]:
    if not metadata:
        return {}
    try:
        loaded: dict[str, Any] = json.loads(json.dumps(metadata, ensure_ascii=False, default=str))
        return loaded
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"memory content metadata is not JSON-serialisable: {exc}") from None


def _png_of(image: Any) -> bytes:
    """The PNG bytes of an autogen_core.Image (AutoGen keeps images as RGB and serialises them as PNG)."""
    return base64.b64decode(image.to_base64())


def _name_from(meta: dict[str, Any]) -> str | None:
    for key in _NAME_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip().replace("\\", "/").rsplit("/", 1)[-1] or None
    return None


def _alt_from(meta: dict[str, Any]) -> str | None:
    for key in _ALT_KEYS:
        value = meta.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _image_bytes(content: Any) -> bytes:
    from autogen_core import Image as AGImage

    if isinstance(content, AGImage):
        return _png_of(content)
    if isinstance(content, (bytes, bytearray)):
        return bytes(content)
    if isinstance(content, str):
        found = _DATA_URI.match(content.strip())
        payload = found.group(2) if found else content.strip()
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInputError("image memory content is a string but not base64 or a data: URI") from None
    raise InvalidInputError(f"image memory content must be an Image, bytes or base64 text, not "
                            f"{type(content).__name__}")


async def records_from_content(core: CoreVerbs, content: MemoryContent, scope: Scope, *,
                               kind: RecordKind | str = RecordKind.FACT, message_id: str | None = None,
                               vision: Any = None, options: IngestOptions | None = None,
                               tags: Sequence[str] = ()) -> list[Record]:
    """Store one `MemoryContent`; returns its live records (one, or the chunks of a document).

    text/plain, text/markdown: one record of `kind` (too long for one record: ingested as a document);
    text/html, text/csv: converted and chunked like files;
    application/json: one record with the object in `data`; image/*: a captioned image record and a
    blob; other types: bytes in a known file format are ingested as that file, anything else is kept
    as a blob with a record naming it. `content.metadata` is kept on the records and `tags` added to
    theirs; with `message_id` the records point at that message (source_ids) and are linked to it by
    ATTACHED edges.
    """
    from autogen_core import Image as AGImage

    mime = _mime_of(content)
    meta = _jsonable(content.metadata)
    body = content.content
    name = _name_from(meta)
    tags = list(tags)
    common: _Stored = {"scope": scope, "message_id": message_id, "metadata": meta | {"mime_type": mime}, "options": options,
              "tags": tags}
    if isinstance(body, AGImage) or mime.startswith("image/"):
        data = _image_bytes(body)
        context = ImageContext(alt_text=_alt_from(meta), message_text=meta.get("text") if isinstance(
            meta.get("text"), str) else None, file_name=name)
        return (await core.ingest(data, name=name, mime="image/*", vision=vision, context=context,
                             **common)).records
    if isinstance(body, (bytes, bytearray)):
        return await _binary_records(core, bytes(body), name, mime, vision=vision, **common)
    if mime == "application/json" or isinstance(body, dict):
        return [await _json_record(core, body, kind, scope, meta, mime, message_id, tags)]
    if not isinstance(body, str):
        raise InvalidInputError(f"memory content of type {type(body).__name__} is not supported")
    if mime in _CONVERTED_TEXT:  # markup and tables are read like the files they are
        return (await core.ingest(body.encode("utf-8"), name=name or f"memory-content{_CONVERTED_TEXT[mime]}",
                             **common)).records
    if len(body.encode("utf-8", errors="replace")) > core.config.limits.max_text_bytes:
        suffix = ".md" if mime == "text/markdown" else ".txt"
        return (await core.ingest(body.encode("utf-8"), name=name or f"memory-content{suffix}", **common)).records
    record = make_record(kind=kind, scope=scope, text=body, metadata=meta | {"mime_type": mime}, tags=tags,
                         source_ids=[message_id] if message_id else [])
    return await core.add(record, attach_edges(message_id, scope, [record]))


async def _json_record(core: CoreVerbs, body: Any, kind: RecordKind | str, scope: Scope, meta: dict[str, Any],
                       mime: str, message_id: str | None, tags: list[str]) -> Record:
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"memory content says {mime} but is not valid JSON ({exc.msg} at line "
                                    f"{exc.lineno}, column {exc.colno})") from None
    try:
        text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"JSON memory content cannot be serialised: {exc}") from None
    data = body if isinstance(body, dict) else {"value": body}
    record = make_record(kind=kind, scope=scope, text=text, data=data, metadata=meta | {"mime_type": mime},
                         tags=tags, source_ids=[message_id] if message_id else [])
    return (await core.add(record, attach_edges(message_id, scope, [record])))[0]


async def _binary_records(core: CoreVerbs, data: bytes, name: str | None, mime: str, *, scope: Scope,
                          message_id: str | None, metadata: dict[str, Any], options: IngestOptions | None,
                          vision: Any, tags: list[str]) -> list[Record]:
    """Bytes in a known file format are ingested as that file; anything else is kept as a blob with a record
    naming it (searchable by name)."""
    keep = (options or IngestOptions()).model_copy(update={"keep_unreadable": True})
    return (await core.ingest(data, scope=scope, name=name, mime=None if mime == "application/octet-stream"
                              else mime, vision=vision, message_id=message_id, metadata=metadata,
                              options=keep, tags=tags)).records


def images_in(content: Any) -> list[Any]:
    """The autogen_core Images among a message's content parts ([] for plain text)."""
    from autogen_core import Image as AGImage

    return [part for part in content if isinstance(part, AGImage)] if isinstance(content, list) else []


async def check_images(images: Sequence[Any], label: str) -> list[bytes]:
    """The PNG bytes of each image, every one checked first (a corrupt image fails before anything is written)."""
    data = [_png_of(image) for image in images]
    for number, png in enumerate(data, 1):
        await asyncio.to_thread(inspect_image, png, f"image {number} of {label}")
    return data


async def attach_images(core: CoreVerbs, images: Sequence[bytes], scope: Scope, *, message_id: str,
                        said: str | None = None, vision: Any = None) -> list[Record]:
    """Ingest a stored message's images (checked PNG bytes) as image records linked to it by ATTACHED edges;
    without a vision model their captions come from what the message says (`said`)."""
    attachments: list[Record] = []
    for data in images:
        result = await core.ingest(data, scope=scope, mime="image/png", vision=vision, message_id=message_id,
                              context=ImageContext(message_text=said))
        attachments.extend(result.records)
    return attachments


async def records_from_message(core: CoreVerbs, message: BaseChatMessage, scope: Scope, *, vision: Any = None,
                               role: str | None = None) -> MessageRecords:
    """Store an AutoGen chat message (recall memory); its images become attachments linked by ATTACHED edges.

    Every image is checked before the message is written, so a corrupt image stores nothing.
    """
    from autogen_agentchat.messages import MultiModalMessage

    parts = message.content if isinstance(message, MultiModalMessage) else []
    images = await check_images(images_in(parts), f"the message from {message.source}")
    said = " ".join(part for part in parts if isinstance(part, str)).strip() or None
    record = make_record(
        kind=RecordKind.MESSAGE, scope=scope, text=message.to_model_text(), name=message.source,
        role=role or ("user" if message.source == "user" else "assistant"),
        event_time=getattr(message, "created_at", None),
        metadata={"autogen": {"id": getattr(message, "id", None), "type": getattr(message, "type", type(message).__name__), "images": len(images)}})
    stored = (await core.add(record))[0]
    attachments = await attach_images(core, images, scope, message_id=stored.id, said=said, vision=vision)
    return MessageRecords(message=stored, attachments=attachments)
