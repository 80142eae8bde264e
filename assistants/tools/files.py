"""read_file and find_in_file: a local file as faithful text through Omne's one converter
(omne.ingest.to_markdown: exact text, every sheet with header, formulas and colours, PDFs page by page,
zips member by member), shown in windows a model can walk, and searched for a string.

`read_text`, `text_window` and `find_text` are the shared implementation: the GAIA `assistant` baseline's
attachment tools call them too.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from autogen_core import CancellationToken, Component
from autogen_core.tools import BaseTool
from pydantic import BaseModel, Field

from omne.errors import InvalidInputError, NotFoundError
from omne.ingest import to_markdown
from omne.ingest.formats import sniff_audio, sniff_image_mime

Transcriber = Callable[[bytes, str], Awaitable[str]]  # (audio bytes, file name) -> transcript
DEFAULT_MAX_CHARS = 60_000
_CACHE_FILES = 8
_CACHE: OrderedDict[tuple[str, int, int], str] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_MARKER = re.compile(r"^(?:<!-- (Page|Slide) number: (\d+) -->|## (.+))$", re.MULTILINE)


class ReadFileArgs(BaseModel):
    path: str = Field(description="Path of the file to read (absolute, or relative to the reader's root).")
    start: int = Field(default=0, ge=0, description="Character offset to start at (0 = the beginning); a "
                       "truncated read and find_in_file give the offsets to use.")
    length: int | None = Field(default=None, ge=1, description="How many characters to return (default and "
                               "most: the reader's cap).")


class FindInFileArgs(BaseModel):
    path: str = Field(description="Path of the file to search (absolute, or relative to the reader's root).")
    text: str = Field(min_length=1, description="The string to look for (case-insensitive).")
    max_hits: int = Field(default=20, ge=1, le=200)


class FileReaderConfig(BaseModel):
    root: str | None = None  # relative paths resolve here; paths outside it are refused when set
    max_chars: int = Field(default=DEFAULT_MAX_CHARS, ge=100)


def read_text(path: Path) -> str:
    """The file's full text (omne.ingest.to_markdown), cached by path, size and modification time.
    Raises InvalidInputError naming what cannot be read and the fix. Blocking."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    text = to_markdown(path)
    with _CACHE_LOCK:
        _CACHE[key] = text
        while len(_CACHE) > _CACHE_FILES:
            _CACHE.popitem(last=False)
    return text


def text_window(text: str, start: int, length: int | None, cap: int, call: str) -> str:
    """`text[start:start+length]`, at most `cap` characters. The whole text comes back unchanged; a part
    ends with a note naming the characters shown and the call (`call` formatted with `start=`) for the next."""
    total = len(text)
    if start == 0 and total <= min(cap, length or cap):
        return text
    if start >= total:
        return f"[start {start:,} is past the end: the text has {total:,} characters]"
    end = min(total, start + min(cap, length or cap))
    note = f"[characters {start:,}-{end:,} of {total:,}"
    if end < total:
        note += (f"; {total - end:,} more: call {call.format(start=end)} for the next part, "
                 "or find_in_file to locate a string]")
    else:
        note += "; this is the end]"
    return text[start:end] + "\n" + note


def _place(text: str, offset: int) -> str:
    """Where an offset is: the last page / slide / sheet / member marker before it, and the line."""
    where = ""
    for mark in _MARKER.finditer(text, 0, offset):
        where = f"{mark.group(1).lower()} {mark.group(2)}" if mark.group(1) else mark.group(3).strip()
    line = text.count("\n", 0, offset) + 1
    return f"line {line}" + (f", under '{where}'" if where else "")


def find_text(text: str, query: str, max_hits: int = 20, context: int = 80) -> str:
    """Every place `query` occurs (case-insensitive): offset, line, section and the text around it."""
    folded, needle = text.lower(), query.lower()
    hits = []
    position = folded.find(needle)
    while position != -1:
        hits.append(position)
        position = folded.find(needle, position + 1)
    if not hits:
        return f"'{query}' does not occur in the text ({len(text):,} characters)."
    lines = [f"'{query}' occurs {len(hits)} time(s) in {len(text):,} characters"
             + (f"; the first {max_hits}:" if len(hits) > max_hits else ":")]
    for offset in hits[:max_hits]:
        before = text[max(0, offset - context):offset].replace("\n", "\\n")
        after = text[offset:offset + len(query) + context].replace("\n", "\\n")
        lines.append(f"- offset {offset:,} ({_place(text, offset)}): ...{before}{after}...")
    return "\n".join(lines)


async def read_media(path: Path, vision: Any = None, transcribe: Transcriber | None = None) -> str | None:
    """An image's description from `vision` or an audio transcript from `transcribe`; None when the file
    is neither, or no such model is configured (the converter then says which model is needed)."""
    head = await asyncio.to_thread(_head, path)
    if sniff_image_mime(head) and vision is not None:
        from omne.ingest.images import ImageContext, describe_image, has_vision, inspect_image

        if not has_vision(vision):
            return None
        data = await asyncio.to_thread(path.read_bytes)
        details = await describe_image(data, inspect_image(data, path.name), ImageContext(file_name=path.name),
                                       vision)
        if details.vision_error:
            raise InvalidInputError(f"{path.name}: the vision model failed ({details.vision_error})")
        return f"Image {path.name}, described by {details.caption_source}: {details.caption}" + (
            f"\nText in the image: {details.text}" if details.text else "")
    if sniff_audio(head, path.name) and transcribe is not None:
        transcript = await transcribe(await asyncio.to_thread(path.read_bytes), path.name)
        return f"Transcript of {path.name}:\n{transcript}"
    return None


def _head(path: Path) -> bytes:
    with path.open("rb") as stream:
        return stream.read(8192)


class _FileTool:
    """What read_file and find_in_file share: the root, the cap and the models for media."""

    config: FileReaderConfig
    vision: Any
    transcribe: Transcriber | None

    def resolve(self, raw: str) -> Path:
        """The file a path names, refusing paths outside the root when one is set."""
        path = Path(raw).expanduser()
        root = Path(self.config.root).resolve() if self.config.root else None
        if root is not None and not path.is_absolute():
            path = root / path
        path = path.resolve()
        if root is not None and not path.is_relative_to(root):
            raise InvalidInputError(f"{raw} is outside the readable folder {root}")
        if not path.is_file():
            raise NotFoundError(f"no file {path}")
        return path

    async def text_of(self, raw: str) -> tuple[Path, str]:
        path = self.resolve(raw)
        media = await read_media(path, self.vision, self.transcribe)
        return path, media if media is not None else await asyncio.to_thread(read_text, path)


class FileReaderTool(_FileTool, BaseTool[ReadFileArgs, str], Component[FileReaderConfig]):
    """Reads a local file as faithful text (any text file exactly, csv and html source included; pdf, docx,
    xlsx, xls, pptx, zip converted), in windows of at most `max_chars` characters."""

    component_type = "tool"
    component_config_schema = FileReaderConfig
    component_provider_override = "assistants.tools.FileReaderTool"

    def __init__(self, root: Path | str | None = None, *, max_chars: int = DEFAULT_MAX_CHARS, vision: Any = None,
                 transcribe: Transcriber | None = None) -> None:
        super().__init__(ReadFileArgs, str, "read_file",
                         "Read a local file as text: text files exactly (csv, json and html source too); pdf (page "
                         "by page), docx, xlsx/xls (every sheet, formulas, colours), pptx and zip archives converted. "
                         f"Long files come in parts of at most {max_chars:,} characters: pass start= to read further.")
        self.config = FileReaderConfig(root=str(root) if root else None, max_chars=max_chars)
        self.vision, self.transcribe = vision, transcribe

    async def run(self, args: ReadFileArgs, cancellation_token: CancellationToken) -> str:
        path, text = await self.text_of(args.path)
        return text_window(text, args.start, args.length, self.config.max_chars,
                           f"read_file(path={str(path)!r}, start={{start}})")

    def _to_config(self) -> FileReaderConfig:
        return self.config

    @classmethod
    def _from_config(cls, config: FileReaderConfig) -> FileReaderTool:
        return cls(config.root, max_chars=config.max_chars)


class FindInFileTool(_FileTool, BaseTool[FindInFileArgs, str], Component[FileReaderConfig]):
    """Finds where a string occurs in a file's text (as read_file shows it): offsets, lines, pages, sheets."""

    component_type = "tool"
    component_config_schema = FileReaderConfig
    component_provider_override = "assistants.tools.FindInFileTool"

    def __init__(self, root: Path | str | None = None, *, vision: Any = None,
                 transcribe: Transcriber | None = None) -> None:
        super().__init__(FindInFileArgs, str, "find_in_file",
                         "Find where a string occurs in a file (case-insensitive): each hit's character offset "
                         "(use it as read_file's start), line, page or sheet, and the text around it.")
        self.config = FileReaderConfig(root=str(root) if root else None)
        self.vision, self.transcribe = vision, transcribe

    async def run(self, args: FindInFileArgs, cancellation_token: CancellationToken) -> str:
        _, text = await self.text_of(args.path)
        return find_text(text, args.text, args.max_hits)

    def _to_config(self) -> FileReaderConfig:
        return self.config

    @classmethod
    def _from_config(cls, config: FileReaderConfig) -> FindInFileTool:
        return cls(config.root)
