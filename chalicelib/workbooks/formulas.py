"""Which cells of the first visible sheet hold formulas, and the formula each holds.

Readers hand over a formula cell's cached value (or nothing, when the file was written by a program
that never calculated it), so a 身份证号码 built by =CONCATENATE(...) or =A2&"" looks like data. The
import refuses such cells with a message instead; this finds them from the sheet's XML without a
second full parse: when the sheet has no <f> element at all (the usual case) it costs one substring
search.
"""
from __future__ import annotations

import html
import io
import re
import zipfile

_SHEET = re.compile(rb'<(?:\w+:)?sheet\b([^>]*)>')
_SHEET_ID = re.compile(rb'\br:id="([^"]+)"')
_HIDDEN = re.compile(rb'\bstate="(?:hidden|veryHidden)"')
_REL = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]+)"[^>]*?\bTarget="([^"]+)"|'
                  rb'<Relationship\b[^>]*?\bTarget="([^"]+)"[^>]*?\bId="([^"]+)"')
_FORMULA_CELL = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+)(\d+)"[^>]*>(?:(?!</(?:\w+:)?c>).)*?'
                           rb'<(?:\w+:)?f(?:\s[^>]*)?(?:/>|>([^<]*)</(?:\w+:)?f>)', re.DOTALL)
_HAS_FORMULA = re.compile(rb'<(?:\w+:)?f[\s>/]')


def formula_cells(data: bytes) -> dict[tuple[int, int], str]:
    """(0-based row, 0-based column) → the formula as the person typed it (=…), of every formula cell of
    the first visible worksheet; a shared formula's followers, which carry no text, show as 公式."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read(_first_sheet_path(archive))
    except (KeyError, zipfile.BadZipFile, IndexError):
        return {}
    if not _HAS_FORMULA.search(xml):
        return {}
    return {(int(row) - 1, _column_index(col)): ("=" + html.unescape(text.decode("utf-8", "replace")) if text else "（公式）")
            for col, row, text in _FORMULA_CELL.findall(xml)}


def _first_sheet_path(archive: zipfile.ZipFile) -> str:
    workbook = archive.read("xl/workbook.xml")
    first = next((_SHEET_ID.search(m.group(1)) for m in _SHEET.finditer(workbook) if not _HIDDEN.search(m.group(1))),
                 None)
    if not first:
        return "xl/worksheets/sheet1.xml"
    rels = archive.read("xl/_rels/workbook.xml.rels")
    for match in _REL.finditer(rels):
        rel_id, target = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        if rel_id == first.group(1):
            path = target.decode()
            return path.lstrip("/") if path.startswith("/") else f"xl/{path}"
    return "xl/worksheets/sheet1.xml"


def _column_index(letters: bytes) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + (ch - 64)
    return index - 1
