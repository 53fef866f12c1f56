"""Reading uploaded workbooks: the first visible worksheet (a hidden 说明 sheet in front is skipped, as a
person looking at the file would), its header row found by name, cells as text."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator, Mapping, Sequence

from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

from chalicelib.errors import BadFileError
from chalicelib.rules.text import clean, fold

HEADER_SEARCH_ROWS = 10


@dataclass
class Sheet:
    headers: list[str]  # as written in the file (for the failure workbook)
    columns: dict[str, int]  # field → column index
    header_row: int  # 1-based row number of the header
    rows: Iterator[tuple[int, list[object]]]  # (1-based row number, raw cells)


def open_sheet(data: bytes, aliases: Mapping[str, Sequence[str]], *, required: Sequence[str],
               max_rows: int | None = None) -> Sheet:
    """`max_rows`: the most data rows one import may have, checked on the sheet's dimension before its cells
    become Python objects (those, not the file's bytes, are what fills the function's memory and time)."""
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(first_visible(book))
        if max_rows is not None and sheet.height > max_rows + HEADER_SEARCH_ROWS:
            raise BadFileError(f"文件有 {sheet.height:,} 行，超过单次导入上限 {max_rows:,} 行，请拆分为多个文件后分批导入")
        table = sheet.to_python(skip_empty_area=False)
    except BadFileError:
        raise
    except Exception:  # calamine raises its own (English) error types for every kind of broken file
        raise BadFileError("文件内容已损坏或不是标准的 Excel 格式，无法读取。请用 Excel 打开后重新保存为 .xlsx 再导入")
    lookup = {fold(name).replace(" ", ""): field for field, names in aliases.items() for name in names}
    for index, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for col, cell in enumerate(row):
            field = lookup.get(fold(cell).replace(" ", ""))
            if field and field not in columns:
                columns[field] = col
        if len(columns) >= 2:
            missing = [f for f in required if f not in columns]
            if missing:
                names = "、".join(f"“{aliases[f][0]}”" for f in missing)
                raise BadFileError(f"第 {index + 1} 行表头缺少{names}列，请使用下载的模板")
            headers = [fold(c) for c in row]
            while headers and not headers[-1]:
                headers.pop()
            return Sheet(headers=headers, columns=columns, header_row=index + 1,
                         rows=((i + 1, r) for i, r in enumerate(table[index + 1:], start=index + 1)))
    raise BadFileError("未找到表头行（如“" + "”“".join(aliases[f][0] for f in required[:3]) + "”），请使用下载的模板")


def is_blank(row: Sequence[object]) -> bool:
    for cell in row:
        if cell is None or cell == "":
            continue
        if isinstance(cell, str) and not fold(cell):
            continue
        return False
    return True


def cell_text(value: object) -> str:
    """A cell as the text a person sees: integral floats without '.0', dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return clean(value)


def first_visible(book: CalamineWorkbook) -> int:
    """The index of the first visible worksheet (not a chart sheet, not hidden)."""
    for index, sheet in enumerate(book.sheets_metadata):
        if sheet.visible == SheetVisibleEnum.Visible and sheet.typ == SheetTypeEnum.WorkSheet:
            return index
    raise BadFileError("工作簿中没有可见的工作表，请取消隐藏数据所在的工作表后再导入")
