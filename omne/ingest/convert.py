"""Files to faithful text: the one converter of Omne (ingest, file-reading tools, GAIA attachments).

Content decides the reader (omne.ingest.formats): text files come back exactly (whitespace and line
endings kept), spreadsheets through openpyxl / xlrd (omne.ingest.sheets: header row, merged ranges,
formulas and cached values, colours), PDFs page by page through pdfplumber (omne.ingest.pdf: rows kept
together), zip archives member by member (recursively), docx / pptx through markitdown.
`sections` yields one section per page, slide, sheet or archive member, for ingest (which also renders
csv and html to markdown, so chunks repeat a table's header and name their headings); `to_markdown` gives
a whole file as one text, for tools that show a file to a model (csv and html as their exact source).
What cannot be rendered is said in the text, never dropped silently.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omne.config import LimitsConfig
from omne.errors import InvalidInputError
from omne.ingest.formats import (
    MIME_TYPES, RENDERED_TEXT, TEXT_FORMATS, check_content, check_json, decode_text, detect_format,
)
from omne.ingest.models import FileFormat
from omne.ingest.pdf import pdf_pages
from omne.ingest.sheets import Sheet, read_xls, read_xlsx, render_sheet
from omne.ingest.source import SourceFile

MAX_ZIP_MEMBERS = 200  # members read from one archive; the rest are named as not read
MAX_MEMBER_BYTES = 50_000_000
MAX_ZIP_DEPTH = 3  # archives inside archives are expanded this deep
IMAGE_NEEDS_MODEL = ("an image has no text to read; it needs a vision model (configure one for the reader, "
                     "or ingest the image with core.ingest to store it with a caption)")
_SLIDE_MARK = re.compile(r"^<!-- Slide number: (\d+) -->\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Section:
    """Markdown for one part of a file, and where that part is."""

    text: str
    page: int | None = None
    slide: int | None = None
    sheet: str | None = None
    count: int | None = None  # how many parts the file has, when known (for progress)
    lines_are_source: bool = False  # text is the file's own text, so line numbers are the file's
    member: str | None = None  # the path inside a zip archive
    notes: tuple[str, ...] = ()  # what could not be rendered (shown by to_markdown, not ingested)


def converter_name() -> str:
    from markitdown import __version__

    return f"omne.ingest (openpyxl, xlrd, pdfplumber, markitdown {__version__})"


def sections(fmt: FileFormat, src: SourceFile, *, member: str | None = None, depth: int = 0,
             exact_text: bool = False) -> Generator[Section, None, None]:
    """Convert lazily; a file that cannot be read as its format raises one InvalidInputError naming it.

    Text files come back as their exact text, except that csv and html are rendered to markdown (a table
    whose header row chunking repeats, headings that name sections) unless `exact_text` (what the file
    tools show a model). A zip archive yields its members' sections (`member` is the path inside the
    archive, nested archives joined with '/'); a member that cannot be read yields one section saying why.
    """
    if fmt is FileFormat.ZIP:
        office = _office_kind(src)
        if office is None:
            yield from _zip_sections(src, member, depth, exact_text)
            return
        fmt = office
    if fmt is FileFormat.PDF:
        for page, count, text, notes in pdf_pages(src):
            yield Section(text=text, page=page, count=count, member=member, notes=tuple(notes))
        return
    try:
        if fmt is FileFormat.XLSX:
            with src.open() as stream:
                sheets = list(read_xlsx(stream))
            yield from _sheet_sections(sheets, member)
        elif fmt is FileFormat.XLS:
            yield from _sheet_sections(list(read_xls(src.read())), member)
        elif fmt is FileFormat.PPTX:
            for section in _split_slides(_markitdown(fmt, src)):
                yield dataclasses.replace(section, member=member)
        elif fmt in TEXT_FORMATS and (exact_text or fmt not in RENDERED_TEXT):
            text = decode_text(src.read(), src.label)
            if fmt is FileFormat.JSON and not exact_text:
                check_json(text, src.label)  # ingest refuses corrupt JSON; a reader shows it as it is
            yield Section(text=text, lines_are_source=True, member=member)
        else:
            yield Section(text=_markitdown(fmt, src, charset="utf-8" if fmt is not FileFormat.DOCX else None,
                                           text=fmt is not FileFormat.DOCX), member=member)
    except InvalidInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - any reader failure means the file cannot be read as this format
        raise InvalidInputError(f"{src.label}: corrupt or unreadable {fmt.value.upper()} file "
                                f"({type(exc).__name__}: {_short(exc)})") from None


def _office_kind(src: SourceFile) -> FileFormat | None:
    """The Office Open XML format of a zip whose first bytes did not show it (e.g. streamed writers)."""
    with src.open() as stream, zipfile.ZipFile(stream) as archive:
        names = set(archive.namelist())
    for fmt, part in ((FileFormat.XLSX, "xl/workbook.xml"), (FileFormat.DOCX, "word/document.xml"),
                      (FileFormat.PPTX, "ppt/presentation.xml")):
        if part in names:
            return fmt
    return None


def _sheet_sections(sheets: list[Sheet], member: str | None) -> Iterator[Section]:
    for sheet in sheets:
        yield Section(text=render_sheet(sheet), sheet=sheet.name, count=len(sheets), member=member)


def _zip_sections(src: SourceFile, member: str | None, depth: int, exact_text: bool) -> Iterator[Section]:
    prefix = f"{member}/" if member else ""
    with src.open() as stream, zipfile.ZipFile(stream) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()]
        if not infos:
            yield Section(text="", notes=("an empty zip archive",), member=member)
        for info in infos[:MAX_ZIP_MEMBERS]:
            path = prefix + info.filename
            if info.file_size > MAX_MEMBER_BYTES:
                note = f"{info.file_size:,} bytes is over the {MAX_MEMBER_BYTES:,}-byte member limit"
                yield Section(text="", notes=(note,), member=path)
                continue
            try:
                data = archive.read(info)
                inner = SourceFile.from_input(data, info.filename)
                inner = dataclasses.replace(inner, label=f"{src.label}:{info.filename}")
                fmt = detect_format(info.filename, data[:8192], None, inner.label)
                if fmt is FileFormat.IMAGE:
                    raise InvalidInputError(f"{inner.label}: {IMAGE_NEEDS_MODEL}")
                if fmt is FileFormat.ZIP and depth >= MAX_ZIP_DEPTH:
                    raise InvalidInputError(f"{inner.label}: a zip nested {depth + 1} deep (not expanded further)")
                check_content(fmt, inner.label, io.BytesIO(data), len(data), MAX_MEMBER_BYTES)
                yield from sections(fmt, inner, member=path, depth=depth + 1, exact_text=exact_text)
            except InvalidInputError as exc:
                yield Section(text="", notes=(str(exc),), member=path)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:  # encrypted, bad compression
                yield Section(text="", notes=(f"{type(exc).__name__}: {_short(exc)}",), member=path)
        if len(infos) > MAX_ZIP_MEMBERS:
            note = f"{len(infos) - MAX_ZIP_MEMBERS} more members past the first {MAX_ZIP_MEMBERS}"
            yield Section(text="", notes=(note,), member=member)


def to_markdown(source: Path | str | bytes, *, name: str | None = None, max_bytes: int | None = None) -> str:
    """A whole file (path, or bytes named by `name`) as text, through the reader ingest uses.

    Text files (csv, tsv, json, markdown and html source included) come back unchanged. Pages, slides,
    sheets and archive members follow each other in order, each after a marker (`<!-- Page number: 2 -->`,
    `<!-- Slide number: 2 -->`, `## <sheet>`, `## <member path>`). Unsupported, corrupt, encrypted or
    oversized files, Git LFS pointers, images and audio raise one InvalidInputError naming the file, the
    reason and the fix. Blocking: call it in a thread.
    """
    src = SourceFile.from_input(source, name)
    limit = max_bytes or LimitsConfig().max_file_bytes
    if src.size > limit:
        raise InvalidInputError(f"{src.label}: {src.size:,} bytes is over the {limit:,}-byte file limit")
    if src.size == 0:
        raise InvalidInputError(f"{src.label}: the file is empty")
    fmt = detect_format(src.name, src.head(), None, src.label)
    if fmt is FileFormat.IMAGE:
        raise InvalidInputError(f"{src.label}: {IMAGE_NEEDS_MODEL}")
    with src.open() as stream:
        check_content(fmt, src.label, stream, src.size, limit)
    parts = [_with_marker(section) for section in sections(fmt, src, exact_text=True)]
    if fmt is FileFormat.ZIP and _office_kind(src) is None:
        with src.open() as stream, zipfile.ZipFile(stream) as archive:
            files = sum(1 for info in archive.infolist() if not info.is_dir())
        return f"# {src.name} (zip archive, {files} files)\n\n" + "\n\n".join(parts)
    return "\n\n".join(parts)


def _with_marker(section: Section) -> str:
    marker = (f"<!-- Page number: {section.page} -->" if section.page is not None else
              f"<!-- Slide number: {section.slide} -->" if section.slide is not None else
              f"## {section.sheet}" if section.sheet is not None else "")
    lines = [section.text] if section.text else []  # a text's own leading newlines are kept
    body = "\n".join(lines + [f"[not rendered: {note}]" for note in section.notes])
    text = f"{marker}\n{body}" if marker else body
    return f"## {section.member}\n{text}" if section.member is not None else text


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else "no details"


def _converter(fmt: FileFormat) -> Any:
    from markitdown import converters as c

    return {FileFormat.PDF: c.PdfConverter, FileFormat.DOCX: c.DocxConverter, FileFormat.XLSX: c.XlsxConverter,
            FileFormat.PPTX: c.PptxConverter, FileFormat.CSV: c.CsvConverter, FileFormat.HTML: c.HtmlConverter,
            FileFormat.MD: c.PlainTextConverter, FileFormat.TXT: c.PlainTextConverter,
            FileFormat.JSON: c.PlainTextConverter}[fmt]()


def _markitdown(fmt: FileFormat, src: SourceFile, *, charset: str | None = None, text: bool = False) -> str:
    from markitdown import StreamInfo

    info = StreamInfo(extension="." + fmt.value, mimetype=MIME_TYPES[fmt], charset=charset,
                      filename=src.name or None)
    if text:  # decode once ourselves (BOM dropped, other encodings detected) and hand markitdown UTF-8
        stream: Any = io.BytesIO(decode_text(src.read(), src.label).encode("utf-8"))
        return str(_converter(fmt).convert(stream, info).markdown)
    with src.open() as stream:
        return str(_converter(fmt).convert(stream, info).markdown)


def _split_slides(markdown: str) -> Iterator[Section]:
    marks = list(_SLIDE_MARK.finditer(markdown))
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(markdown)
        yield Section(text=markdown[mark.end():end], slide=int(mark.group(1)), count=len(marks))
