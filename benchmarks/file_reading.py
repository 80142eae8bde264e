"""Reading speed of Omne's one file converter on the generated attachment corpus, and which PDF text
extractor keeps a table's rows together.

    .venv/bin/python -m benchmarks.file_reading [--repeat 5]

Run it from the repository root: the corpus builders live in tests/support/attachment_corpus.py (the
same files the reader tests use). Prints markdown table rows for benchmarks/RESULTS-files.md.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def _time_files(folder: Path, repeat: int) -> list[tuple[str, int, float, int]]:
    from omne.errors import InvalidInputError
    from omne.ingest import to_markdown
    from tests.support.attachment_corpus import build_corpus

    rows = []
    for name, path in (build_corpus(folder) | _larger_files(folder)).items():
        times, chars = [], 0
        for _ in range(repeat):
            start = time.perf_counter()
            try:
                chars = len(to_markdown(path))
            except InvalidInputError as exc:  # the LFS pointer: its message is the output
                chars = len(str(exc))
            times.append(time.perf_counter() - start)
        rows.append((f"{name} ({path.suffix})", path.stat().st_size, statistics.median(times) * 1000, chars))
    return rows


def _larger_files(folder: Path) -> dict[str, Path]:
    """A 10,000-row workbook and a 20-page PDF, for how reading scales."""
    from openpyxl import Workbook

    from tests.ingest_samples import pdf_bytes

    book = Workbook()
    for i in range(10_000):
        book.active.append([f"item {i}", i, i * 1.5, "N/A" if i % 50 == 0 else "ok", f"bin {i % 40}"])
    book.save(folder / "rows10k.xlsx")
    (folder / "pages20.pdf").write_bytes(pdf_bytes([[f"page {p} line {n} of the report" for n in range(40)]
                                                    for p in range(20)]))
    return {"10k-row sheet": folder / "rows10k.xlsx", "20-page PDF": folder / "pages20.pdf"}


def _rows_kept(text: str, books: list[tuple[str, ...]]) -> str:
    kept = sum(1 for row in books[1:] if any(all(cell in line for cell in row) for line in text.splitlines()))
    return f"{kept}/{len(books) - 1}"


def _pdf_extractors(folder: Path) -> list[tuple[str, str, str]]:
    import pdfplumber
    import pypdfium2 as pdfium
    from markitdown import MarkItDown

    from tests.support.attachment_corpus import BOOKS, table_pdf

    path = table_pdf(folder)
    doc = pdfium.PdfDocument(str(path))
    pdfium_text = doc[0].get_textpage().get_text_range()
    doc.close()
    with pdfplumber.open(path) as pdf:
        plumber_text = pdf.pages[0].extract_text()
    from omne.ingest import to_markdown

    return [("pypdfium2 get_text_range (content order)", _rows_kept(pdfium_text, BOOKS), pdfium_text[:60]),
            ("markitdown PdfConverter (the previous reader)",
             _rows_kept(MarkItDown().convert(str(path)).markdown, BOOKS), ""),
            ("pdfplumber extract_text (by position)", _rows_kept(plumber_text, BOOKS), ""),
            ("omne to_markdown (pdfplumber tables + lines)", _rows_kept(to_markdown(path), BOOKS), "")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "timed").mkdir()
        rows = _time_files(Path(tmp) / "timed", args.repeat)
        print("| file | bytes | median ms | characters out |\n|---|---|---|---|")
        for name, size, ms, chars in rows:
            print(f"| {name} | {size:,} | {ms:.1f} | {chars:,} |")
        small = [ms for name, _, ms, _ in rows if not name.startswith(("10k", "20-page"))]
        print(f"\ncorpus: {len(small)} files, {sum(small):.1f} ms in all, {sum(small) / len(small):.1f} ms per file "
              f"(median of {args.repeat} runs each)\n")
        (Path(tmp) / "pdf").mkdir()
        print("| PDF extractor | table rows kept on one line |\n|---|---|")
        for name, kept, _ in _pdf_extractors(Path(tmp) / "pdf"):
            print(f"| {name} | {kept} |")


if __name__ == "__main__":
    main()
