"""Spreadsheets as faithful text: every sheet, the detected header row, merged ranges, formulas with their
cached values, and cell fills / font colours, read with openpyxl (.xlsx) or xlrd (legacy .xls).

Each sheet becomes one markdown section: lines above the header row (titles), a table whose first row is
the detected header, then notes for what a table cannot show (merged ranges, formulas, colours).
Cell text is kept as written: a literal `N/A` stays `N/A`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

_MAX_BLANK_ROWS = 3  # empty rows inside a table drawn as empty rows; a longer run is one line
_MAX_COLOUR_GRID = (200, 60)  # rows, columns: larger coloured areas are listed per colour instead
_HUES = ((15, "red"), (48, "orange"), (70, "yellow"), (165, "green"), (195, "cyan"), (255, "blue"),
         (290, "purple"), (345, "pink"), (360, "red"))  # upper bound of each hue range, in degrees


@dataclass
class Sheet:
    """One sheet's cells as text, with what a plain table cannot show."""

    name: str
    cells: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col), 1-based: shown value
    merged: list[tuple[str, str]] = field(default_factory=list)  # (range, value)
    formulas: list[tuple[str, str, str]] = field(default_factory=list)  # (cell, formula, cached value)
    fills: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, col) -> colour label
    fonts: dict[tuple[int, int], str] = field(default_factory=dict)
    unrendered: list[str] = field(default_factory=list)  # what this reader could not show


def column_letter(col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_name(row: int, col: int) -> str:
    return f"{column_letter(col)}{row}"


def show_value(value: Any) -> str:
    """A cell value as text: strings exactly, whole-number floats without '.0', dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def colour_name(rgb: str) -> str:
    """'FFFF0000' -> '#FF0000 (red)': the hex colour and a plain name from its hue and lightness."""
    import colorsys

    hexa = rgb[-6:].upper()
    r, g, b = (int(hexa[i:i + 2], 16) / 255 for i in (0, 2, 4))
    hue, light, sat = colorsys.rgb_to_hls(r, g, b)
    if sat < 0.15 or light > 0.96 or light < 0.06:
        name = "white" if light > 0.9 else "black" if light < 0.1 else \
            "light grey" if light > 0.65 else "dark grey" if light < 0.3 else "grey"
    else:
        name = next(label for bound, label in _HUES if hue * 360 < bound)
        name = f"light {name}" if light > 0.7 else f"dark {name}" if light < 0.25 else name
    return f"#{hexa} ({name})"


# ---- openpyxl ----------------------------------------------------------------------------------------

def read_xlsx(stream: BinaryIO) -> Iterator[Sheet]:
    """Every worksheet of an .xlsx workbook (charts and chart sheets are named as not rendered)."""
    from openpyxl import load_workbook

    import io

    data = stream.read()
    formulas = load_workbook(io.BytesIO(data), data_only=False, rich_text=False)
    loaded: list[Any] = []

    def cached(title: str, row: int, col: int) -> Any:
        """A formula cell's cached value: the workbook is loaded a second time (values only) at the first
        formula, so a workbook without formulas is parsed once."""
        if not loaded:
            loaded.append(load_workbook(io.BytesIO(data), data_only=True))
        return loaded[0][title].cell(row=row, column=col).value

    theme = theme_colours(formulas.loaded_theme)
    for ws in formulas.worksheets:
        yield _openpyxl_sheet(ws, cached, theme)
    for chartsheet in getattr(formulas, "chartsheets", []):
        yield Sheet(name=chartsheet.title, unrendered=["a chart sheet (charts are not rendered as text)"])


def theme_colours(theme_xml: bytes | None) -> list[str]:
    """The workbook theme's colours as RGB hex, in the order cell styles index them (lt1, dk1, lt2, dk2,
    accent1-6, hlink, folHlink)."""
    if not theme_xml:
        return []
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(theme_xml)
    except ElementTree.ParseError:
        return []
    ns = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
    scheme = root.find(f".//{ns}clrScheme")
    if scheme is None:
        return []
    found: list[str] = []
    for slot in scheme:
        rgb = next((child.get("lastClr") or child.get("val") for child in slot), None) or ""
        found.append(rgb.upper() if re.fullmatch(r"[0-9A-Fa-f]{6}", rgb) else "000000")
    if len(found) >= 4:
        found[0], found[1], found[2], found[3] = found[1], found[0], found[3], found[2]
    return found


def _tinted(rgb: str, tint: float) -> str:
    """Excel's tint: lighten (tint > 0) or darken (tint < 0) a colour in HLS space."""
    import colorsys

    r, g, b = (int(rgb[i:i + 2], 16) / 255 for i in (0, 2, 4))
    h, lum, sat = colorsys.rgb_to_hls(r, g, b)
    lum = lum * (1 + tint) if tint < 0 else lum * (1 - tint) + tint
    return "".join(f"{round(v * 255):02X}" for v in colorsys.hls_to_rgb(h, lum, sat))


def _openpyxl_colour(colour: Any, theme_colours: list[str]) -> str | None:
    """A colour label for an openpyxl Color, or None for 'no colour' / the default."""
    if colour is None:
        return None
    kind = getattr(colour, "type", None)
    if kind == "rgb" and isinstance(colour.rgb, str):
        rgb = colour.rgb.upper()
        return None if rgb in ("00000000",) else colour_name(rgb)
    if kind == "indexed":
        from openpyxl.styles.colors import COLOR_INDEX

        index = colour.indexed
        if index in (64, 65) or index >= len(COLOR_INDEX):  # system foreground / background
            return None
        return colour_name(COLOR_INDEX[index])
    if kind == "theme":
        if colour.theme < len(theme_colours):
            return colour_name(_tinted(theme_colours[colour.theme], colour.tint or 0.0)) + f" (theme {colour.theme})"
        tint = f", tint {colour.tint:+.2f}" if colour.tint else ""
        return f"theme colour {colour.theme}{tint}"
    return None


def _openpyxl_sheet(ws: Any, cached_value: Any, theme: list[str]) -> Sheet:
    sheet = Sheet(name=ws.title)
    for row in ws.iter_rows():
        for cell in row:
            if cell.__class__.__name__ == "MergedCell":
                continue
            key = (cell.row, cell.column)
            raw = cell.value
            if raw is not None:
                if cell.data_type == "f" or (isinstance(raw, str) and raw.startswith("=")):
                    cached = cached_value(ws.title, cell.row, cell.column)
                    formula = str(getattr(raw, "text", raw))
                    shown = show_value(cached) if cached is not None else ""
                    sheet.formulas.append((cell.coordinate, formula,
                                           shown if cached is not None else "no cached value (the file was "
                                           "saved without computing it)"))
                    sheet.cells[key] = shown
                else:
                    sheet.cells[key] = show_value(raw)
            if not cell.has_style:
                continue
            fill = cell.fill
            if fill is not None and fill.fill_type == "solid":
                label = _openpyxl_colour(fill.fgColor, theme)
                if label:
                    sheet.fills[key] = label
            elif fill is not None and fill.fill_type not in (None, "none"):
                label = _openpyxl_colour(fill.fgColor, theme)
                sheet.fills[key] = f"{fill.fill_type} pattern" + (f" {label}" if label else "")
            font = cell.font
            if font is not None and font.color is not None:
                label = _openpyxl_colour(font.color, theme)
                if label and not label.startswith("#000000") and not label.endswith("(theme 1)"):
                    sheet.fonts[key] = label
    for merged in ws.merged_cells.ranges:
        top = sheet.cells.get((merged.min_row, merged.min_col), "")
        sheet.merged.append((str(merged), top))
    if getattr(ws, "_charts", None):
        sheet.unrendered.append(f"{len(ws._charts)} chart(s) (charts are not rendered as text)")
    if getattr(ws, "_images", None):
        sheet.unrendered.append(f"{len(ws._images)} embedded image(s) (not rendered)")
    if ws.conditional_formatting:
        sheet.unrendered.append("conditional formatting rules (the colours they produce are not computed)")
    comments = [(cell.coordinate, cell.comment.text) for row in ws.iter_rows() for cell in row
                if getattr(cell, "comment", None) is not None]
    for coordinate, text in comments:
        sheet.formulas.append((coordinate, "comment", text.strip()))
    return sheet


# ---- xlrd (legacy .xls) ------------------------------------------------------------------------------

def read_xls(data: bytes) -> Iterator[Sheet]:
    """Every sheet of a legacy .xls workbook, with merged ranges and cell fills (values only: xlrd does
    not read formulas)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, formatting_info=True)
        formatted = True
    except NotImplementedError:  # formatting_info is not supported for some files
        book = xlrd.open_workbook(file_contents=data)
        formatted = False
    for ws in book.sheets():
        sheet = Sheet(name=ws.name)
        for r in range(ws.nrows):
            for c in range(ws.ncols):
                cell = ws.cell(r, c)
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    text = ""
                elif cell.ctype == xlrd.XL_CELL_DATE:
                    text = show_value(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    text = show_value(bool(cell.value))
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    text = xlrd.error_text_from_code.get(cell.value, "#ERROR")
                else:
                    text = show_value(cell.value)
                if text:
                    sheet.cells[(r + 1, c + 1)] = text
                if formatted:
                    _xls_colours(book, ws, r, c, sheet)
        for r0, r1, c0, c1 in ws.merged_cells:
            name = f"{cell_name(r0 + 1, c0 + 1)}:{cell_name(r1, c1)}"
            sheet.merged.append((name, sheet.cells.get((r0 + 1, c0 + 1), "")))
        sheet.unrendered.append("formulas (xlrd reads a legacy .xls file's cached values only)")
        if not formatted:
            sheet.unrendered.append("cell colours and merged ranges (xlrd could not read this file's formatting)")
        yield sheet


def _xls_colours(book: Any, ws: Any, r: int, c: int, sheet: Sheet) -> None:
    xf = book.xf_list[ws.cell_xf_index(r, c)]
    pattern = xf.background.fill_pattern
    if pattern:
        rgb = book.colour_map.get(xf.background.pattern_colour_index)
        if rgb is not None:
            sheet.fills[(r + 1, c + 1)] = colour_name("%02X%02X%02X" % rgb)
    font = book.font_list[xf.font_index]
    rgb = book.colour_map.get(font.colour_index)
    if rgb is not None and rgb != (0, 0, 0):
        sheet.fonts[(r + 1, c + 1)] = colour_name("%02X%02X%02X" % rgb)


# ---- rendering ---------------------------------------------------------------------------------------

def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>")


def header_row(rows: list[int], filled: Counter[int], width: int) -> int:
    """The header row: the first row holding at least half of the widest row's cells (at least 2 when
    the table is wider than one column), so a title line above the table is not taken for the header."""
    needed = 1 if width <= 1 else max(2, (max(filled.values()) + 1) // 2)
    for row in rows:
        if filled[row] >= needed:
            return row
    return rows[0]


def render_sheet(sheet: Sheet) -> str:
    """The markdown of one sheet: title lines, the table from the header row down, then notes."""
    out: list[str] = []
    if sheet.cells:
        rows = sorted({r for r, _ in sheet.cells})
        cols = sorted({c for _, c in sheet.cells})
        first_col, last_col = cols[0], cols[-1]
        filled = Counter(r for r, _ in sheet.cells)
        head = header_row(rows, filled, len(cols))
        for row in rows:
            if row >= head:
                break
            line = " ".join(sheet.cells[(row, c)] for c in cols if (row, c) in sheet.cells)
            out.append(f"{line}  (row {row})")
        if out:
            out.append("")
        span = range(first_col, last_col + 1)
        cells = [_escape(sheet.cells.get((head, c), "")) for c in span]
        out.append("| " + " | ".join(cells) + " |")
        out.append("|" + "---|" * len(cells))
        filled_rows = [row for row in rows if row > head]
        previous = head
        for row in filled_rows:
            if row - previous > _MAX_BLANK_ROWS + 1:  # a long run of empty rows is named, not drawn
                out.append(f"| (rows {previous + 1}-{row - 1} are empty) |" + " |" * (len(span) - 1))
            else:
                out.extend("|" + " |" * len(span) for _ in range(previous + 1, row))
            cells = [_escape(sheet.cells.get((row, c), "")) for c in span]
            out.append("| " + " | ".join(cells) + " |")
            previous = row
        out.append("")
        out.append(f"(header row {head}; columns {column_letter(first_col)}-{column_letter(last_col)}; "
                   f"rows {head}-{rows[-1]})")
    else:
        out.append("(no cell values)")
    if sheet.merged:
        out.append("")
        out.append("Merged cells: " + "; ".join(f"{rng} = {value!r}" if value else rng for rng, value in sheet.merged))
    if sheet.formulas:
        out.append("")
        out.append("Formulas and comments:")
        out.extend(f"- {cell}: {formula} -> {cached}" for cell, formula, cached in sheet.formulas)
    for title, colours in (("Cell fill colours", sheet.fills), ("Font colours", sheet.fonts)):
        if colours:
            out.append("")
            out.extend(_render_colours(title, colours))
    if sheet.unrendered:
        out.append("")
        out.append("Not rendered: " + "; ".join(sheet.unrendered))
    return "\n".join(out)


def _render_colours(title: str, colours: dict[tuple[int, int], str]) -> list[str]:
    """A grid of colour codes over the coloured area (compact), or a list of cells per colour when large."""
    legend: dict[str, str] = {}
    for label in sorted(set(colours.values())):
        legend[label] = str(len(legend) + 1)
    rows = [r for r, _ in colours]
    cols = [c for _, c in colours]
    top, bottom, left, right = min(rows), max(rows), min(cols), max(cols)
    lines = [f"{title} ({len(colours)} cells; legend: "
             + ", ".join(f"{code} = {label}" for label, code in legend.items()) + "):"]
    if bottom - top < _MAX_COLOUR_GRID[0] and right - left < _MAX_COLOUR_GRID[1]:
        width = max(len(c) for c in legend.values())
        lines.append("     " + " ".join(column_letter(c).rjust(width) for c in range(left, right + 1)))
        for r in range(top, bottom + 1):
            codes = [legend[colours[(r, c)]].rjust(width) if (r, c) in colours else ".".rjust(width)
                     for c in range(left, right + 1)]
            lines.append(f"{r:>4} " + " ".join(codes))
        lines.append("('.' = no colour)")
    else:
        for label, code in legend.items():
            cells = [cell_name(r, c) for (r, c), value in sorted(colours.items()) if value == label]
            lines.append(f"- {code} {label}: {', '.join(cells)}")
    return lines
