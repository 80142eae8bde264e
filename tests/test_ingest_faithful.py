"""`omne memory ingest` reads files through the same faithful converter as the file tools: spreadsheet
chunks repeat the real header row (not a title above it), section labels stay with their rows, and a zip
is ingested member by member with each member named in the location."""

from __future__ import annotations

import re

import pytest
from openpyxl import Workbook

from omne import Scope
from omne.ingest import IngestOptions, format_location
from omne.ingest.chunking import Chunker
from omne.tokenizer import word_pieces
from tests.support import attachment_corpus as corpus

U1 = Scope(user="u1")


@pytest.fixture(scope="module")
def counter(embedder):
    return word_pieces(embedder)


def test_a_section_label_row_stays_with_its_rows_in_every_chunk(counter):
    lines = ["| item | qty |", "| --- | --- |"]
    for section in ("Fruit", "Tools", "Fish"):
        lines.append(f"| {section} |  |")
        lines.extend(f"| {section.lower()} item number {i} | {i} |" for i in range(9))
    chunks = list(Chunker(counter, max_tokens=48).chunks("\n".join(lines)))
    assert len(chunks) > 3
    for chunk in chunks:
        body = chunk.text.splitlines()
        assert body[:2] == ["| item | qty |", "| --- | --- |"]
        assert not re.fullmatch(r"\| \w+ \|  \|", body[-1]), chunk.text  # a label never ends a chunk
        for row in body[2:]:
            found = re.match(r"\| (\w+) item number", row)
            if found:
                assert f"| {found.group(1).title()} |  |" in body, chunk.text  # its label is in the chunk


async def test_spreadsheet_chunks_repeat_the_header_row_not_the_title(core, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.title = "Stock"
    sheet["A1"] = "Warehouse stock list, printed Monday"
    sheet.merge_cells("A1:C1")
    sheet.append([])
    sheet.append(["Part", "Bin", "Count"])
    for i in range(60):
        sheet.append([f"bolt size {i}", f"bin {i % 7}", "N/A" if i % 10 == 0 else i])
    path = tmp_path / "stock.xlsx"
    book.save(path)
    result = await core.ingest(path, scope=U1, options=IngestOptions(chunk_tokens=48))
    tables = [r.text for r in result.records if "| bolt size" in r.text]
    assert len(tables) > 3
    for text in tables:
        lines = text.splitlines()
        separator = next(i for i, line in enumerate(lines) if re.fullmatch(r"\|( ?-+ ?\|)+", line))
        assert lines[separator - 1] == "| Part | Bin | Count |", text
    assert any("| bolt size 10 | bin 3 | N/A |" in t for t in tables)
    assert not any("NaN" in t for t in tables)


async def test_a_zip_is_ingested_member_by_member_with_member_locations(core, tmp_path):
    path = corpus.zip_bundle(tmp_path)
    result = await core.ingest(path, scope=U1)
    places = {format_location(r): r.text for r in result.records}
    xls = [text for place, text in places.items()
           if place.startswith('bundle.zip, member data/ports.xls, sheet "Harbours"')]
    pdf = [text for place, text in places.items() if place.startswith("bundle.zip, member catalogue.pdf, page 1")]
    assert any("| Porto | N/A |" in t for t in xls), places
    assert any("| Emma | Available |" in t for t in pdf), places


async def test_csv_chunks_repeat_the_header_while_the_reader_shows_the_csv_as_written(core, tmp_path):
    from omne.ingest import to_markdown

    rows = "".join(f'{i},"Smith, {i}", bin {i % 7}\r\n' for i in range(60))
    path = tmp_path / "parts.csv"
    path.write_bytes(f"id,name, bin\r\n{rows}".encode())
    assert to_markdown(path) == path.read_bytes().decode()  # read_file / read_attachment: exact
    result = await core.ingest(path, scope=U1, options=IngestOptions(chunk_tokens=48))
    assert len(result.records) > 3
    for record in result.records:  # ingest: markdown table rows under the header, in every chunk
        assert record.text.splitlines()[:2] == ["| id | name |  bin |", "| --- | --- | --- |"], record.text
    assert any("| 17 | Smith, 17 |  bin 3 |" in r.text for r in result.records)
