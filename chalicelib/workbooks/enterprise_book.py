"""The enterprise workbooks: the import template (下载模板) and the export (导出: what was typed as text,
员工人数 as a number)."""
from __future__ import annotations

from typing import Iterable

from chalicelib.rules import catalog
from chalicelib.workbooks.columns import ENTERPRISE_FIELDS, enterprise_extra_fields
from chalicelib.workbooks.writer import write_table, write_template

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def import_columns() -> list[tuple[str, str]]:
    """(field, header) in template order; category-specific fields as extra.<key>."""
    return [*ENTERPRISE_FIELDS.items(), *((f"extra.{k}", v) for k, v in enterprise_extra_fields().items())]


def template(category_names: list[str], towns: list[str]) -> bytes:
    required_fields = {"category", "name", "town", "head_name", "head_phone", "address"}
    columns = [(title, 24 if field in ("name", "address", "extra.project_name") else 14, field in required_fields)
               for field, title in import_columns()]

    def dropdowns(book, sheet) -> None:
        sheet.data_validation(1, 0, 5000, 0, {"validate": "list", "source": category_names,
                                              "error_message": "请从下拉列表选择主体类型"})
        sheet.data_validation(1, 2, 5000, 2, {"validate": "list", "source": towns,
                                              "error_message": "请从下拉列表选择所属镇街"})

    lines = [
        "1. 红色表头为必填项；请从第 2 行开始逐行填写，不要修改表头。",
        "2. 主体类型可选：" + "、".join(category_names) + "。",
        "3. 所属镇街可选：" + "、".join(towns) + "。",
        "4. 负责人电话为 11 位手机号码，将作为企业负责人登录系统的账号，请务必准确填写。",
        "5. 项目名称仅建筑工地类主体必填。",
        "6. 同一镇街内主体名称相同的企业视为同一家：已存在的企业将按本表内容更新，表内重复的行以最后一行为准。",
        "7. 校验不通过的行不会导入，系统会生成失败文件（原有列 + 异常信息 + 原表行号）供下载修改后重新导入。",
    ]
    return write_template("企业信息", columns, lines, dropdowns)


def export(rows: Iterable[dict]) -> bytes:
    columns = import_columns()
    headers = [title for _, title in columns] + ["员工人数", "登记时间"]

    def cells(item: dict):
        for field, _ in columns:
            if field.startswith("extra."):
                yield item["extra"].get(field[6:], "")
            elif field == "category":
                yield item["category_name"]
            else:
                yield item[field]
        yield int(item["staff_count"] or 0)  # a number, so 员工人数 adds up in Excel
        yield (item["created_at"] or "")[:16].replace("T", " ")

    return write_table("企业信息", headers, (list(cells(r)) for r in rows))


def default_category_names() -> list[str]:
    return [c.name for c in catalog.CATEGORIES]
