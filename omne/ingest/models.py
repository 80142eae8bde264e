"""Pydantic models at the ingest boundary: options, provenance stored on records, results."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omne.ingest.tags import PROVENANCE_KEY
from omne.types import Record


class FileFormat(StrEnum):
    """Formats `ingest` reads, decided by content. Documents become text; images blobs with captions."""

    PDF = "pdf"
    DOCX = "docx"
    XLSX = "xlsx"
    PPTX = "pptx"
    CSV = "csv"
    HTML = "html"
    MD = "md"
    TXT = "txt"
    JSON = "json"
    XLS = "xls"  # legacy Excel (an OLE container), read with xlrd
    ZIP = "zip"  # an archive: each member is read as its own file
    IMAGE = "image"
    BINARY = "binary"  # kept as a blob with a describing record; no text is read from it


class IngestOptions(BaseModel):
    """How files are split and written. `max_bytes` overrides `limits.max_file_bytes` for one call; with
    `keep_unreadable` content of no known format is kept (a blob, and a record that names it) instead of refused."""

    model_config = ConfigDict(extra="forbid")

    chunk_tokens: int = Field(default=200, ge=16, le=512)  # MiniLM reads at most 256 word pieces
    overlap_tokens: int = Field(default=24, ge=0, le=128)  # only when one block must be cut into windows
    batch_size: int = Field(default=64, ge=1, le=10_000)  # chunks committed and embedded per write
    max_bytes: int | None = Field(default=None, ge=1)
    keep_unreadable: bool = False  # bytes no reader understands: kept as a blob with a record naming them


class SourceInfo(BaseModel):
    """The file a record came from."""

    model_config = ConfigDict(extra="forbid")

    file: str  # display name (base name)
    source: str  # identity: absolute path, or the name given for bytes
    sha256: str
    bytes: int
    mime: str
    format: FileFormat
    modified: datetime | None = None
    blob: str | None = None  # blob key of the original, under <store>/blobs


class Location(BaseModel):
    """Where in the file a chunk sits. Rows count a table's header as row 1."""

    model_config = ConfigDict(extra="forbid")

    member: str | None = None  # the path inside a zip archive
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    section: str | None = None  # heading path, "A > B"
    rows: tuple[int, int] | None = None
    lines: tuple[int, int] | None = None


class ImageDetails(BaseModel):
    """What is known about an image and where its caption came from."""

    model_config = ConfigDict(extra="forbid")

    width: int
    height: int
    caption: str
    caption_source: str  # e.g. "vision model (gpt-4o)", "message text (offline)"
    text: str | None = None  # text seen in the image: only from a vision model
    vision_error: str | None = None


class Provenance(BaseModel):
    """Stored under `record.metadata["ingest"]` on every record ingest writes."""

    model_config = ConfigDict(extra="forbid")

    source: SourceInfo
    location: Location = Field(default_factory=Location)
    chunk: int = 0
    chunks: int = 1
    tokens: int | None = None
    converter: str
    message_id: str | None = None
    image: ImageDetails | None = None

    @classmethod
    def of(cls, record: Record) -> Provenance | None:
        """The provenance of a record written by ingest, else None."""
        raw = record.metadata.get(PROVENANCE_KEY)
        if not isinstance(raw, dict):
            return None
        try:
            return cls.model_validate(raw)
        except ValueError:
            return None


class IngestResult(BaseModel):
    """What one `ingest` call did."""

    file: str
    source: str
    sha256: str
    format: FileFormat
    status: Literal["added", "unchanged", "superseded"]
    records: list[Record]  # the live records for this file after the call
    superseded: int = 0  # old chunks replaced by new versions (kept in history)
    forgotten: int = 0  # old chunks with no counterpart (explicitly forgotten, kept in history)
