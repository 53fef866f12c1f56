"""Writing .xlsx files. Every cell is written as text, so nothing a person typed becomes a formula
(DOMAIN.md "Spreadsheet exports"), and long digit strings keep all their digits."""
from __future__ import annotations

import io
from typing import Iterable, Sequence

import xlsxwriter


def write_table(sheet_name: str, headers: Sequence[str], rows: Iterable[Sequence[object]],
                *, widths: Sequence[int] | None = None, note: str | None = None) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True,
                                        "strings_to_formulas": False, "strings_to_numbers": False,
                                        "strings_to_urls": False})
    sheet = book.add_worksheet(sheet_name[:31])
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    text = book.add_format({"num_format": "@"})
    for col, title in enumerate(headers):
        sheet.set_column(col, col, (widths[col] if widths else max(12, len(title) * 2 + 4)), text)
        sheet.write_string(0, col, title, header)
    sheet.freeze_panes(1, 0)
    row_index = 1
    for row in rows:
        for col, value in enumerate(row):
            if value is not None and value != "":
                sheet.write_string(row_index, col, str(value))
        row_index += 1
    if note:
        sheet.write_string(row_index + 1, 0, note)
    book.close()
    return buffer.getvalue()
