"""`ingest`: a file (path or bytes) into scoped, searchable records with provenance.

Every check that can refuse the input (size, format, corruption, encryption, no text) runs before
the first write, so a refused file leaves the store exactly as it was.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omne.errors import InvalidInputError
from omne.ingest.blobs import BlobStore
from omne.ingest.chunking import Chunker, ChunkDraft
from omne.ingest.convert import Section, converter_name, sections
from omne.ingest.formats import MIME_TYPES, check_content, detect_format, extension_of
from omne.ingest.images import ImageContext, describe_image, image_text, inspect_image
from omne.ingest.models import FileFormat, IngestOptions, IngestResult, Location, Provenance, SourceInfo
from omne.ingest.source import SourceFile
from omne.ingest.tags import BINARY_TAG, DOCUMENT_TAG, IMAGE_TAG, PROVENANCE_KEY
from omne.ingest.writer import Progress, attach_edges, is_current, live_records, source_lock, source_tag, write_version
from omne.tokenizer import word_pieces
from omne.types import Record, RecordKind, Scope

if TYPE_CHECKING:
    from omne.core import MemoryCore

async def ingest(core: MemoryCore, source: Path | str | bytes, *, scope: Scope, name: str | None = None,
                 options: IngestOptions | None = None, vision: Any = None, message_id: str | None = None,
                 context: ImageContext | None = None, mime: str | None = None,
                 metadata: dict[str, Any] | None = None, tags: Sequence[str] = (),
                 progress: Progress | None = None) -> IngestResult:
    """Ingest one file: documents become chunk records, images a captioned record plus a blob.

    `name` names bytes input (and overrides a path's identity); `vision` is an AutoGen
    ChatCompletionClient with vision for image captions; `message_id` links the new records to the
    message they came with (ATTACHED edges); `metadata` is copied onto every record (beside the
    provenance under metadata["ingest"]) and `tags` added to theirs; `progress(stage, done, total)`
    reports long ingests.
    Raises InvalidInputError (naming the file and the reason) before writing anything.
    """
    options = options or IngestOptions()
    if not isinstance(scope, Scope):
        raise InvalidInputError("ingest needs a scope (omne.Scope)")
    src = SourceFile.from_input(source, name)
    limit = options.max_bytes or core.config.limits.max_file_bytes
    if src.size > limit:
        raise InvalidInputError(f"{src.label}: {src.size:,} bytes is over the {limit:,}-byte file limit (raise "
                                "limits.max_file_bytes or pass a larger max_bytes)")
    head = await asyncio.to_thread(src.head)
    try:
        fmt = detect_format(src.name or "", head, mime, src.label)
    except InvalidInputError:
        if not options.keep_unreadable:
            raise
        fmt = FileFormat.BINARY
    sha = await asyncio.to_thread(src.sha256)
    if not src.key:  # unnamed bytes: the content is the identity
        generated = f"{_UNNAMED.get(fmt, 'upload')}-{sha[:12]}{extension_of(fmt, head)}"
        src = dataclasses.replace(src, key=f"sha256:{sha}", name=generated, label=generated)

    def _check() -> None:
        with src.open() as stream:
            check_content(fmt, src.label, stream, src.size, limit)

    if fmt is not FileFormat.BINARY:
        await asyncio.to_thread(_check)
    async with source_lock(core, scope, src.key):
        old = await live_records(core, scope, src.key)
        kind = (mime or "application/octet-stream") if fmt is FileFormat.BINARY else None
        info = SourceInfo(file=src.name, source=src.key, sha256=sha, bytes=src.size,
                          mime=kind or MIME_TYPES.get(fmt, "application/octet-stream"), format=fmt,
                          modified=src.modified)
        if is_current(old, sha):
            await core.add_edges(attach_edges(message_id, scope, old))
            return IngestResult(file=src.name, source=src.key, sha256=sha, format=fmt, status="unchanged",
                                records=old)
        if fmt is FileFormat.IMAGE:
            records = [await _image_record(src, info, scope, vision, message_id, context)]
        elif fmt is FileFormat.BINARY:
            records = [_binary_record(src, info, scope, message_id)]
        else:
            records = await _document_records(core, src, fmt, info, scope, options, message_id, progress)
        info_blob = await asyncio.to_thread(_keep_original, core, src, sha)
        records = [_finish(r, info_blob, metadata, tags) for r in records]
        stored, superseded, forgotten = await write_version(
            core, scope, old, records, message_id=message_id, batch_size=options.batch_size, progress=progress)
    return IngestResult(file=src.name, source=src.key, sha256=sha, format=fmt,
                        status="superseded" if old else "added", records=stored, superseded=superseded,
                        forgotten=forgotten)


_UNNAMED = {FileFormat.IMAGE: "image", FileFormat.BINARY: "attachment"}  # how unnamed bytes are named


def _keep_original(core: MemoryCore, src: SourceFile, sha: str) -> str:
    with src.open() as stream:
        return BlobStore.beside(core.config.store_dir).put(stream, expected_sha256=sha)


def _finish(record: Record, blob: str, extra: dict[str, Any] | None, tags: Sequence[str]) -> Record:
    meta = {k: v for k, v in (extra or {}).items() if k != PROVENANCE_KEY} | record.metadata
    meta[PROVENANCE_KEY] = meta[PROVENANCE_KEY] | {"source": meta[PROVENANCE_KEY]["source"] | {"blob": blob}}
    return record.model_copy(update={"metadata": meta, "tags": [*record.tags, *(t for t in tags if t not in record.tags)]})


def _base_record(src: SourceFile, scope: Scope, text: str, tags: list[str], prov: Provenance,
                 message_id: str | None) -> Record:
    return Record(kind=RecordKind.DOCUMENT, scope=scope, text=text, name=src.name, tags=tags,
                  source_ids=[message_id] if message_id else [],
                  metadata={PROVENANCE_KEY: prov.model_dump(mode="json", exclude_none=True)})


async def _document_records(core: MemoryCore, src: SourceFile, fmt: FileFormat, info: SourceInfo, scope: Scope,
                            options: IngestOptions, message_id: str | None,
                            progress: Progress | None) -> list[Record]:
    chunker = Chunker(word_pieces(core.embedder), options.chunk_tokens, options.overlap_tokens)
    parts = sections(fmt, src)

    def _step() -> tuple[Section, list[ChunkDraft]] | None:
        section = next(parts, None)
        return None if section is None else (section, list(chunker.chunks(section.text)))

    drafts: list[tuple[Section, ChunkDraft]] = []
    done = 0
    try:
        while (step := await asyncio.to_thread(_step)) is not None:
            section, chunks = step
            drafts.extend((section, chunk) for chunk in chunks)
            done += 1
            if progress is not None and section.count:
                progress("read", done, section.count)
    finally:
        parts.close()
    if not drafts:
        hint = " (a scanned PDF has no text layer; run OCR on it first)" if fmt is FileFormat.PDF else ""
        raise InvalidInputError(f"{src.label}: no text could be extracted from this {fmt.value.upper()} file{hint}")
    converter = converter_name()
    tags = [DOCUMENT_TAG, f"format:{fmt.value}", source_tag(src.key)]
    records = []
    for index, (section, chunk) in enumerate(drafts):
        location = Location(member=section.member, page=section.page, slide=section.slide, sheet=section.sheet,
                            section=chunk.section,
                            rows=chunk.rows, lines=chunk.lines if section.lines_are_source else None)
        prov = Provenance(source=info, location=location, chunk=index, chunks=len(drafts), tokens=chunk.tokens,
                          converter=converter, message_id=message_id)
        records.append(_base_record(src, scope, chunk.text, tags, prov, message_id))
    return records


def _binary_record(src: SourceFile, info: SourceInfo, scope: Scope, message_id: str | None) -> Record:
    text = (f"Binary attachment {src.name} ({src.size:,} bytes, {info.mime}); its content is kept as a blob, "
            "unread.")
    prov = Provenance(source=info, converter="none (binary kept as a blob)", message_id=message_id)
    return _base_record(src, scope, text, [BINARY_TAG, source_tag(src.key)], prov, message_id)


async def _image_record(src: SourceFile, info: SourceInfo, scope: Scope, vision: Any, message_id: str | None,
                        context: ImageContext | None) -> Record:
    data = await asyncio.to_thread(src.read)
    image = await asyncio.to_thread(inspect_image, data, src.label)
    context = context or ImageContext()
    if context.file_name is None and not src.key.startswith("sha256:"):
        context = dataclasses.replace(context, file_name=src.name)
    details = await describe_image(data, image, context, vision)
    info = info.model_copy(update={"mime": image.mime})
    prov = Provenance(source=info, converter="pillow", message_id=message_id, image=details)
    tags = [IMAGE_TAG, f"format:{image.mime.split('/')[1]}", source_tag(src.key)]
    return _base_record(src, scope, image_text(src.name, image, details, context), tags, prov, message_id)
