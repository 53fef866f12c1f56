"""Writing .xlsx files. Whatever a person typed is written as text, so nothing becomes a formula (DOMAIN.md
"Spreadsheet exports") and long digit strings keep all their digits; counts the system computed are
written as numbers, so Excel can add them up (SUM over text cells gives 0)."""
from __future__ import annotations

import io
import math
import numbers
from typing import Callable, Iterable, Sequence

import xlsxwriter


def is_count(value: object) -> bool:
    """A number the system produced (int, float, numpy's), written as a number. A str is never one, even
    "123": a typed phone or ID number stays text. Booleans are not counts."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def write_table(sheet_name: str, headers: Sequence[str], rows: Iterable[Sequence[object]],
                *, widths: Sequence[int] | None = None, note: str | None = None) -> bytes:
    """One sheet: a header row, then the rows. A str cell is text (write_string: never a formula, URL or
    number, whatever it starts with); an int or float is a number. So a caller who wants a column summed
    passes ints (`staff_count`, not `str(staff_count)`), and everything else as str."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True,
                                        "strings_to_formulas": False, "strings_to_numbers": False,
                                        "strings_to_urls": False})
    sheet = book.add_worksheet(sheet_name[:31])
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    number = book.add_format({"num_format": "General"})  # a cell format of its own: the column's is text (@)
    for col, title in enumerate(headers):
        sheet.set_column(col, col, (widths[col] if widths else max(12, len(title) * 2 + 4)), text)
        sheet.write_string(0, col, title, header)
    sheet.freeze_panes(1, 0)
    row_index = 1
    for row in rows:
        for col, value in enumerate(row):
            if is_count(value):
                sheet.write_number(row_index, col, value, number)
            elif value is not None and value != "":
                sheet.write_string(row_index, col, str(value))
        row_index += 1
    if note:
        sheet.write_string(row_index + 1, 0, note)
    book.close()
    return buffer.getvalue()


def write_template(sheet_name: str, columns: Sequence[tuple[str, int, bool]], guide: Sequence[str],
                   decorate: Callable | None = None) -> bytes:
    """An import template: one header row (required columns in red), every column text-formatted so
    IDs and phones keep their digits, `decorate(book, sheet)` for dropdowns, and a 填写说明 sheet."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet(sheet_name)
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    required = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_color": "#C00000"})
    text = book.add_format({"num_format": "@"})
    for col, (title, width, is_required) in enumerate(columns):
        sheet.set_column(col, col, width, text)
        sheet.write_string(0, col, title, required if is_required else header)
    sheet.freeze_panes(1, 0)
    if decorate:
        decorate(book, sheet)
    notes = book.add_worksheet("填写说明")
    notes.set_column(0, 0, 110)
    for row, line in enumerate(guide):
        notes.write_string(row, 0, line)
    book.close()
    return buffer.getvalue()
