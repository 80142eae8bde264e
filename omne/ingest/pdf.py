"""PDFs page by page with pdfplumber: text lines in reading order (characters grouped by their position,
so a table drawn column by column still reads row by row) and ruled tables as markdown tables."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omne.errors import InvalidInputError
from omne.ingest.source import SourceFile


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _table_markdown(rows: list[list[str | None]]) -> str:
    def cell(value: str | None) -> str:
        return (value or "").replace("|", "\\|").replace("\n", " ").strip()

    width = max(len(r) for r in rows)
    lines = ["| " + " | ".join(cell(v) for v in rows[0]) + " |", "|" + "---|" * width]
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in rows[1:])
    return "\n".join(lines)


def _page_text(page: Any) -> tuple[str, list[str]]:
    """Tables (as markdown) and the text around them, top to bottom; and what was not rendered."""
    blocks: list[tuple[float, str]] = []
    rest = page
    for table in page.find_tables():
        rows = table.extract()
        if rows and any(any(c for c in row) for row in rows):
            blocks.append((table.bbox[1], _table_markdown(rows)))
            rest = rest.outside_bbox(table.bbox)
    for line in rest.extract_text_lines(layout=False, strip=False, return_chars=False):
        blocks.append((line["top"], line["text"].rstrip()))
    blocks.sort(key=lambda b: b[0])
    text = "\n".join(text for _, text in blocks)
    notes = []
    if not text.strip():
        notes.append("no text on this page (a scanned image? it needs OCR)")
    if page.images:
        notes.append(f"{len(page.images)} image(s) on this page (images are not rendered as text)")
    return text, notes


def pdf_pages(src: SourceFile) -> Iterator[tuple[int, int, str, list[str]]]:
    """(page number, page count, text, what was not rendered) for each page; encrypted or corrupt files raise InvalidInputError."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(src.path if src.path is not None else _bytes_stream(src))
        count = len(pdf.pages)
    except Exception as exc:  # noqa: BLE001 - pdfminer raises many kinds for a broken file
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc  # pdfplumber wraps them
        if isinstance(cause, PDFPasswordIncorrect):
            raise InvalidInputError(f"{src.label}: encrypted PDF (it needs a password to open); "
                                    "save an unprotected copy and read that") from None
        raise InvalidInputError(f"{src.label}: corrupt PDF ({_short(cause)})") from None
    with pdf:
        if count == 0:
            raise InvalidInputError(f"{src.label}: the PDF has no pages")
        for index, page in enumerate(pdf.pages):
            try:
                text, notes = _page_text(page)
            except Exception as exc:  # noqa: BLE001
                raise InvalidInputError(f"{src.label}: page {index + 1} could not be read "
                                        f"({type(exc).__name__}: {_short(exc)})") from None
            finally:
                page.close()
            yield index + 1, count, text, notes


def _bytes_stream(src: SourceFile) -> Any:
    import io

    assert src.data is not None
    return io.BytesIO(src.data)
