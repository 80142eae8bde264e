"""Which format a file is, and the cheap checks that refuse bad input before any conversion."""

from __future__ import annotations

import json
import zipfile
from pathlib import PurePath
from typing import BinaryIO

from omne.errors import InvalidInputError
from omne.ingest.models import FileFormat

EXTENSIONS: dict[str, FileFormat] = {
    ".pdf": FileFormat.PDF, ".docx": FileFormat.DOCX, ".xlsx": FileFormat.XLSX, ".pptx": FileFormat.PPTX,
    ".csv": FileFormat.CSV, ".html": FileFormat.HTML, ".htm": FileFormat.HTML, ".md": FileFormat.MD,
    ".markdown": FileFormat.MD, ".txt": FileFormat.TXT, ".text": FileFormat.TXT, ".json": FileFormat.JSON,
    ".jsonl": FileFormat.TXT, ".log": FileFormat.TXT, ".py": FileFormat.TXT, ".xml": FileFormat.TXT,
    ".yaml": FileFormat.TXT, ".yml": FileFormat.TXT, ".tsv": FileFormat.TXT,
    ".png": FileFormat.IMAGE, ".jpg": FileFormat.IMAGE, ".jpeg": FileFormat.IMAGE, ".gif": FileFormat.IMAGE,
    ".webp": FileFormat.IMAGE, ".bmp": FileFormat.IMAGE, ".xls": FileFormat.XLS, ".zip": FileFormat.ZIP,
}
_OOXML_SUFFIXES = frozenset({".docx", ".xlsx", ".pptx"})

MIME_TYPES: dict[FileFormat, str] = {
    FileFormat.PDF: "application/pdf",
    FileFormat.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    FileFormat.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    FileFormat.CSV: "text/csv", FileFormat.HTML: "text/html", FileFormat.MD: "text/markdown",
    FileFormat.TXT: "text/plain", FileFormat.JSON: "application/json", FileFormat.XLS: "application/vnd.ms-excel",
    FileFormat.ZIP: "application/zip",
}
_FORMAT_OF_MIME = {mime: fmt for fmt, mime in MIME_TYPES.items()} | {"application/x-pdf": FileFormat.PDF,
                                                                     "text/x-markdown": FileFormat.MD}

_OOXML_MAIN_PART = {FileFormat.DOCX: "word/document.xml", FileFormat.XLSX: "xl/workbook.xml",
                    FileFormat.PPTX: "ppt/presentation.xml"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
                (b"GIF89a", "image/gif"), (b"BM", "image/bmp"))
_ZIP_EXPANSION_LIMIT = 20  # an Office file may unpack to this many times the file-size limit, not more
TEXT_FORMATS = frozenset({FileFormat.CSV, FileFormat.HTML, FileFormat.MD, FileFormat.TXT, FileFormat.JSON})
RENDERED_TEXT = frozenset({FileFormat.CSV, FileFormat.HTML})  # ingest chunks these as markdown, readers show source

SUPPORTED = ", ".join(sorted({ext.lstrip(".") for ext in EXTENSIONS}))


def sniff_image_mime(head: bytes) -> str | None:
    """The MIME type of an image from its first bytes, or None."""
    for magic, mime in _IMAGE_MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
_AUDIO_MAGIC = ((b"ID3", "mp3"), (b"\xff\xfb", "mp3"), (b"\xff\xf3", "mp3"), (b"\xff\xf2", "mp3"),
                (b"fLaC", "flac"), (b"OggS", "ogg"))
_AUDIO_SUFFIXES = frozenset({".mp3", ".wav", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".wma"})


def sniff_audio(head: bytes, name: str = "") -> str | None:
    """The kind of audio ('mp3', 'wav', ...) from the first bytes (or, for containers, the name), else None."""
    for magic, kind in _AUDIO_MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    suffix = PurePath(name).suffix.lower()
    if head[4:8] == b"ftyp" and suffix in _AUDIO_SUFFIXES:
        return suffix.lstrip(".")
    return None


def is_text(head: bytes) -> bool:
    """True when the first bytes look like text: no NUL byte, and UTF-8 or another detectable encoding."""
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4 and exc.reason == "unexpected end of data":
            return True  # a multi-byte character cut at the end of the sample
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    return best is not None and best.chaos < 0.2


def detect_format(name: str, head: bytes, mime: str | None = None, label: str | None = None) -> FileFormat:
    """The format of a file, decided by its content first (magic bytes, zip parts, text or not), then by
    its extension or MIME type among the text formats. Git LFS pointers, audio and unknown binary
    content raise InvalidInputError naming what to do."""
    label = label or name or "input"
    suffix = PurePath(name).suffix.lower()
    if head.startswith(LFS_POINTER):
        raise InvalidInputError(f"{label}: a Git LFS pointer file, not the content (the repository was cloned "
                                "without LFS); run `git lfs pull` in the clone (or download the real file) "
                                "and read it again")
    sniffed = _sniff_binary(head)
    if sniffed is not None:
        if sniffed is FileFormat.ZIP and suffix in _OOXML_SUFFIXES:
            return EXTENSIONS[suffix]  # check_content names what is missing from the Office file
        return sniffed
    if head.startswith(_OLE_MAGIC):
        if suffix in _OOXML_SUFFIXES:
            return EXTENSIONS[suffix]  # check_content says: encrypted or legacy Office file
        if suffix in (".xls", "") or (mime or "").startswith("application/vnd.ms-excel"):
            return FileFormat.XLS
        raise InvalidInputError(f"{label}: a legacy Office file (OLE container) other than .xls; save it as "
                                ".docx/.xlsx/.pptx (or PDF) and read that")
    audio = sniff_audio(head, name)
    if audio is not None or suffix in _AUDIO_SUFFIXES:
        raise InvalidInputError(f"{label}: {audio or suffix.lstrip('.')} audio has no text to read; reading it "
                                "needs a transcription model, and none is configured")
    if suffix in EXTENSIONS and EXTENSIONS[suffix] not in TEXT_FORMATS:
        return EXTENSIONS[suffix]  # binary formats named by their extension: check_content says what is wrong
    if not is_text(head):
        if suffix in EXTENSIONS:
            return EXTENSIONS[suffix]  # check_content refuses binary data in a text file, naming it
        what = f"'{suffix}' files" if suffix else "files of this type"
        raise InvalidInputError(f"{label}: unsupported format ({what} cannot be ingested); its content is binary "
                                f"and no document, spreadsheet, archive, image or text; readable: {SUPPORTED}, "
                                "and any text file")
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if mime:
        base = mime.split(";")[0].strip().lower()
        if _FORMAT_OF_MIME.get(base) in TEXT_FORMATS:
            return _FORMAT_OF_MIME[base]
    text = head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if text[:15].lower().startswith(("<!doctype html", "<html")):
        return FileFormat.HTML
    if not suffix and text[:1] in ("{", "["):
        return FileFormat.JSON
    return FileFormat.TXT  # .pdb, .jsonld, .gff, source code...: read as exact text


def _sniff_binary(head: bytes) -> FileFormat | None:
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # before '%PDF-': a zip may store a PDF uncompressed
        return _zip_kind(head)
    if b"%PDF-" in head[:1024]:
        return FileFormat.PDF
    if sniff_image_mime(head):
        return FileFormat.IMAGE
    return None


def _zip_kind(head: bytes) -> FileFormat:
    """An Office Open XML file or a plain archive, from the member names in the local headers that the
    first bytes hold (a member's own content is never taken for a name)."""
    import struct

    position = 0
    while head[position:position + 4] == b"PK\x03\x04" and position + 30 <= len(head):
        flags, size, name_len, extra_len = (struct.unpack_from("<H", head, position + 6)[0],
                                            *struct.unpack_from("<I", head, position + 18),
                                            *struct.unpack_from("<HH", head, position + 26))
        name = head[position + 30:position + 30 + name_len]
        for prefix, fmt in ((b"xl/", FileFormat.XLSX), (b"word/", FileFormat.DOCX), (b"ppt/", FileFormat.PPTX)):
            if name.startswith(prefix):
                return fmt
        if flags & 0x08:  # sizes follow the data: the next header cannot be found from here
            break
        position += 30 + name_len + extra_len + size
    return FileFormat.ZIP


def extension_of(fmt: FileFormat, head: bytes) -> str:
    """A file extension for a format (images: from their first bytes)."""
    if fmt is FileFormat.IMAGE:
        return "." + (sniff_image_mime(head) or "image/png").split("/")[1].replace("jpeg", "jpg")
    if fmt is FileFormat.BINARY:
        return ".bin"
    return "." + fmt.value


def check_content(fmt: FileFormat, label: str, stream: BinaryIO, size: int, max_bytes: int) -> None:
    """Refuse content that cannot be what its name says: corrupt, encrypted, binary text, zip bombs."""
    stream.seek(0)
    head = stream.read(8192)
    stream.seek(0)
    if size == 0:
        raise InvalidInputError(f"{label}: the file is empty")
    if fmt is FileFormat.PDF:
        if b"%PDF-" not in head[:1024]:
            raise InvalidInputError(f"{label}: corrupt PDF (no %PDF- header; the file is not a PDF)")
    elif fmt in _OOXML_MAIN_PART:
        _check_ooxml(fmt, label, stream, head, max_bytes)
    elif fmt is FileFormat.ZIP:
        _check_zip(label, stream, max_bytes)
    elif fmt is FileFormat.XLS and not head.startswith(_OLE_MAGIC):
        raise InvalidInputError(f"{label}: corrupt .xls file (not a legacy Excel OLE container)")
    elif fmt in TEXT_FORMATS and b"\x00" in head:
        raise InvalidInputError(f"{label}: binary data in a .{fmt.value} file (it holds NUL bytes, not text)")
    stream.seek(0)


def _check_ooxml(fmt: FileFormat, label: str, stream: BinaryIO, head: bytes, max_bytes: int) -> None:
    if head.startswith(_OLE_MAGIC):
        raise InvalidInputError(
            f"{label}: encrypted or legacy Office file (an OLE container, not a .{fmt.value} zip): "
            f"remove the password, or save it as .{fmt.value}, and ingest again")
    if not head.startswith(b"PK"):
        raise InvalidInputError(f"{label}: corrupt .{fmt.value} file (not a zip archive)")
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InvalidInputError(f"{label}: corrupt .{fmt.value} file ({exc})") from None
    if _OOXML_MAIN_PART[fmt] not in names:
        raise InvalidInputError(f"{label}: corrupt .{fmt.value} file (no {_OOXML_MAIN_PART[fmt]} inside)")
    if expanded > _ZIP_EXPANSION_LIMIT * max_bytes:
        raise InvalidInputError(f"{label}: unpacks to {expanded:,} bytes, over {_ZIP_EXPANSION_LIMIT}x the "
                                f"{max_bytes:,}-byte file limit (raise limits.max_file_bytes to allow it)")


def _check_zip(label: str, stream: BinaryIO, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(stream) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise InvalidInputError(f"{label}: corrupt zip archive ({exc})") from None
    if expanded > _ZIP_EXPANSION_LIMIT * max_bytes:
        raise InvalidInputError(f"{label}: unpacks to {expanded:,} bytes, over {_ZIP_EXPANSION_LIMIT}x the "
                                f"{max_bytes:,}-byte file limit (raise limits.max_file_bytes to allow it)")


def check_json(text: str, label: str) -> None:
    """Refuse text that is not JSON, naming where it breaks."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{label}: corrupt JSON ({exc.msg} at line {exc.lineno}, "
                                f"column {exc.colno})") from None


def decode_text(data: bytes, label: str) -> str:
    """UTF-8 (a BOM is dropped); other encodings are detected with charset-normalizer."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        raise InvalidInputError(f"{label}: not text in any encoding that could be detected")
    return str(best)
