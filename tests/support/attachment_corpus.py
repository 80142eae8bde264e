"""A corpus of small GAIA-style attachments the tests write themselves (nothing binary is committed).

Each builder writes one file reproducing a way a reader can lose the answer: leading spaces, a CSV or an
HTML page shown converted instead of as written, a colour answer, a title row above the header, N/A cells,
merged cells and formulas, a PDF table drawn column by column, text formats named by unusual suffixes, a
legacy .xls, a zip of an xls and a pdf, a needle past the reader's cap, a Git LFS pointer.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

ASCII_LAYOUT = "    *\n   ***\n  *****\r\n *******\n    |\n"
PDB_TEXT = ("HEADER    HYDROLASE                               01-JAN-99   1ABC              \n"
            "ATOM      1  N   MET A   1      38.198  19.582  28.998  1.00 52.61           N  \n"
            "ATOM      2  CA  MET A   1      38.847  20.785  28.433  1.00 52.61           C  \n"
            "END   \n")
JSONLD = {"@context": "https://schema.org", "@type": "Person", "name": "Ada Lovelace", "birthDate": "1815-12-10"}
BOOKS = [("Title", "Status"), ("Dune", "Checked out"), ("Emma", "Available"), ("Ubik", "Overdue"),
         ("Solaris", "Available")]  # two columns: too few for markitdown's form detection
CSV_TEXT = ('id,name, note\r\n1,"Smith, Jane","  said ""hi"""\r\n2, Lee ,"line one\r\nline two"\r\n'
            '3,,  N/A\r\n')  # quoted commas and quotes, leading spaces, a line break inside a field, CRLF
HTML_TEXT = ("<!DOCTYPE html>\n<html><head><title>Tides</title><style>td { color: red }</style></head>\n"
             "<body>\n  <h1>Tide   tables</h1>\n  <table><tr><td class=\"high\">14:05</td></tr></table>\n"
             "  <!-- low tide: 20:17 -->\n<script>var x = 1;</script>\n</body></html>\n")  # the answer is in a comment
NEEDLE = "the key is MAGENTA-42"
BIG_CHARS = 130_000


def _text_file(path: Path, text: str) -> Path:
    """`text` written byte for byte (UTF-8, line endings as given)."""
    path.write_bytes(text.encode())
    return path


def ascii_layout(folder: Path) -> Path:
    return _text_file(folder / "layout.txt", ASCII_LAYOUT)


def quoted_csv(folder: Path) -> Path:
    return _text_file(folder / "visitors.csv", CSV_TEXT)


def html_page(folder: Path) -> Path:
    return _text_file(folder / "tides.html", HTML_TEXT)


def colour_xlsx(folder: Path) -> Path:
    """A 3x4 grid of filled cells with no values (the answer is a colour), and one red-font value."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "Grid"
    colours = ["FF0000", "00B050", "0070C0", "FFFF00"]
    for r in range(1, 4):
        for c in range(1, 5):
            sheet.cell(row=r, column=c).fill = PatternFill("solid", fgColor=colours[(r + c) % 4])
    sheet.cell(row=5, column=1, value="Start").font = Font(color="FFFF0000")
    path = folder / "grid.xlsx"
    book.save(path)
    return path


def title_row_xlsx(folder: Path) -> Path:
    """A title row (merged) and a blank row above the real header; some cells are the literal 'N/A'."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet["A1"] = "Annual sales report 2023"
    sheet.merge_cells("A1:C1")
    rows = [("Region", "Units", "Returns"), ("North", 120, "N/A"), ("South", 95, 4), ("West", "N/A", 7)]
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    path = folder / "sales.xlsx"
    book.save(path)
    return path


def multi_sheet_xlsx(folder: Path) -> Path:
    """Two sheets; merged header cells; formulas saved with their cached values (as Excel saves them)."""
    import xlsxwriter

    path = folder / "budget.xlsx"
    book = xlsxwriter.Workbook(str(path))
    first = book.add_worksheet("Costs")
    first.merge_range("A1:B1", "Fleet costs")
    for r, (item, cost) in enumerate([("Item", "Cost"), ("Fuel", 300), ("Crew", 450)], start=1):
        first.write(r, 0, item)
        first.write(r, 1, cost)
    first.write(4, 0, "Total")
    first.write_formula(4, 1, "=SUM(B3:B4)", None, 750)
    second = book.add_worksheet("Ports")
    for r, row in enumerate([("Port", "Visits"), ("Lisbon", 4), ("Porto", 2)]):
        second.write_row(r, 0, row)
    second.write_formula(3, 1, "=B2*10", None, 40)
    book.close()
    return path


def table_pdf(folder: Path) -> Path:
    """A ruled table whose text is drawn column by column (as many PDF writers do)."""
    path = folder / "catalogue.pdf"
    path.write_bytes(table_pdf_bytes(BOOKS))
    return path


def table_pdf_bytes(rows: list[tuple[str, ...]]) -> bytes:
    xs, top, height = [72 + 200 * i for i in range(len(rows[0]) + 1)], 700, 20
    ops = ["0.5 w"]
    for i in range(len(rows) + 1):  # horizontal rules
        y = top - i * height
        ops.append(f"{xs[0]} {y} m {xs[-1]} {y} l S")
    for x in xs:  # vertical rules
        ops.append(f"{x} {top} m {x} {top - len(rows) * height} l S")
    ops.append("BT /F1 11 Tf")
    for c in range(len(rows[0])):  # column by column
        for r, row in enumerate(rows):
            ops.append(f"1 0 0 1 {xs[c] + 4} {top - (r + 1) * height + 6} Tm ({row[c]}) Tj")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdb_file(folder: Path) -> Path:
    return _text_file(folder / "1abc.pdb", PDB_TEXT)


def jsonld_file(folder: Path) -> Path:
    path = folder / "person.jsonld"
    path.write_text(json.dumps(JSONLD, indent=2) + "\n", encoding="utf-8")
    return path


def legacy_xls(folder: Path, name: str = "ports.xls") -> Path:
    """A real BIFF8 .xls (xlwt) with a title row above the header and an N/A cell."""
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Harbours")
    sheet.write(0, 0, "Harbour visits")
    for r, row in enumerate([("Port", "Ships"), ("Lisbon", 31), ("Porto", "N/A")], start=2):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    path = folder / name
    book.save(str(path))
    return path


def zip_bundle(folder: Path) -> Path:
    """A zip holding a legacy .xls and a PDF table, one of them in a sub-folder."""
    inner = folder / "inner"
    inner.mkdir(exist_ok=True)
    xls, pdf = legacy_xls(inner), table_pdf(inner)
    path = folder / "bundle.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(xls, "data/ports.xls")
        archive.write(pdf, "catalogue.pdf")
    return path


def big_text(folder: Path) -> Path:
    """More text than the 60,000-character cap, with the needle near the end."""
    filler = "".join(f"line {i:06d} of harbour log, nothing to report\n" for i in range(BIG_CHARS // 46))
    path = folder / "log.txt"
    path.write_text(filler + NEEDLE + "\n", encoding="utf-8")
    return path


def lfs_pointer(folder: Path) -> Path:
    path = folder / "survey.xlsx"
    path.write_text("version https://git-lfs.github.com/spec/v1\n"
                    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")
    return path


CORPUS: dict[str, Callable[[Path], Path]] = {
    "ascii_layout": ascii_layout, "quoted_csv": quoted_csv, "html_page": html_page, "colour_xlsx": colour_xlsx,
    "title_row_xlsx": title_row_xlsx, "multi_sheet_xlsx": multi_sheet_xlsx, "table_pdf": table_pdf, "pdb": pdb_file, "jsonld": jsonld_file,
    "legacy_xls": legacy_xls, "zip_bundle": zip_bundle, "big_text": big_text, "lfs_pointer": lfs_pointer,
}


def build_corpus(folder: Path) -> dict[str, Path]:
    """Every corpus file, written into `folder`."""
    return {name: build(folder) for name, build in CORPUS.items()}
