"""The statistics tables as .xlsx, laid out as on screen (§2.4.1): a title, the period or 统计时间, the
seed's column names, town rows (NAT: each followed by its 人员类别 rows), the 合计 row, the definitions."""
from __future__ import annotations

import io
from typing import Sequence

import xlsxwriter

NAT_HEADERS = ("所属镇街", "人员类别", "人员数量", "未核酸检测人数", "核酸检测人次", "核酸检测人数", "覆盖率", "阳性人数",
               "未出结果人数", "阴性人数")
VACCINE_HEADERS = ("所属镇街", "主体数量", "工作人员数量",
                   *(f"{label}" for n in ("第一针", "第二针", "第三针")
                     for label in (f"{n}可接种人数", f"{n}接种人数", f"完成{n}接种率")))


def _book(title: str, subtitle: str, headers: Sequence[str], rows: list[tuple[list, bool]], notes: list[str]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False,
                                        "strings_to_urls": False})
    sheet = book.add_worksheet(title[:31])
    bold = book.add_format({"bold": True, "font_size": 13})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "align": "center"})
    cell = book.add_format({"border": 1})
    total = book.add_format({"border": 1, "bold": True, "bg_color": "#F2F2F2"})
    sheet.write_string(0, 0, title, bold)
    sheet.write_string(1, 0, subtitle)
    for col, name in enumerate(headers):
        sheet.set_column(col, col, max(10, len(name) * 2 + 2))
        sheet.write_string(3, col, name, head)
    for index, (values, is_total) in enumerate(rows, start=4):
        for col, value in enumerate(values):
            style = total if is_total else cell
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                sheet.write_number(index, col, value, style)
            else:
                sheet.write_string(index, col, "" if value is None else str(value), style)
    line = 4 + len(rows) + 1
    for note in notes:
        sheet.write_string(line, 0, note)
        line += 1
    book.close()
    return buffer.getvalue()


def _nat_cells(row: dict) -> list:
    return [row["town"], row["person_category"] or "", row["people"], row["untested"], row["samples"], row["tested"],
            row["coverage"], row["positive"], row["pending"], row["negative"]]


def nat_table(table: dict) -> bytes:
    rows: list[tuple[list, bool]] = []
    for town in table["rows"]:
        rows.append((_nat_cells(town), False))
        rows += [(_nat_cells(child), False) for child in town["children"]]
    rows.append((_nat_cells(table["total"]), True))
    subtitle = f"{table['category_name']}　查询时间段：{table['start'][:16].replace('T', ' ')} - {table['end'][:16].replace('T', ' ')}"
    return _book("核酸检测情况", subtitle, NAT_HEADERS, rows, [f"数据截至：{_time(table['as_of'])}", *table["definitions"]])


def _vaccine_cells(row: dict) -> list:
    cells = [row["town"], row["enterprises"], row["staff"]]
    for dose in row["doses"]:
        cells += [dose["eligible"], dose["vaccinated"], dose["rate"]]
    return cells


def vaccine_table(table: dict) -> bytes:
    rows = [(_vaccine_cells(r), False) for r in table["rows"]] + [(_vaccine_cells(table["total"]), True)]
    notes = [f"统计时间：{_time(table['as_of'])}", *table["definitions"]]
    if table["unknown_products"]:
        notes.append("以下疫苗产品未在接种程序中登记，按剂次统计：" + "、".join(
            f"{u['product']}（{u['people']}人）" for u in table["unknown_products"]))
    return _book("疫苗接种情况", table["category_name"], VACCINE_HEADERS, rows, notes)


def _time(stamp: str | None) -> str:
    return stamp[:19].replace("T", " ") if stamp else ""
