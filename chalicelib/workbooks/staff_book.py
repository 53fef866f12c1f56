"""The staff workbooks: the import template (§2.2.3), the head's export (§2.2.6) and the ledger export
(§2.3), with the seed's columns in the seed's order, and the people behind a statistics number (§2.4.1)
with the columns their dialog shows. What was typed is text, counts are numbers (writer.write_table)."""
from __future__ import annotations

from typing import Iterable

from chalicelib.rules import catalog
from chalicelib.rules.clock import SHANGHAI
from chalicelib.workbooks.writer import write_table, write_template

TEMPLATE_COLUMNS = ("姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址", "项目名称")
REQUIRED = {"姓名", "身份证号码", "手机号码", "人员类别", "居住地址"}

HEAD_EXPORT = ("项目名称", "姓名", "身份证号码", "手机号码", "人员类别", "居住地址", "居住类型",
               "最近一次核酸采样时间", "最近一次核酸检测结果", "第一针疫苗接种时间", "第二针疫苗接种时间",
               "第三针疫苗接种时间", "企业名称")
# 点击数字查看下载人员详情 (§2.4.1): the drill-down dialog's columns (console StatsPeopleDialog.vue), in full
STATS_PEOPLE = ("企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "人员类别")
NAT_PEOPLE = (*STATS_PEOPLE, "最近一次核酸检测结果", "最近一次核酸采样时间", "期间检测次数")
VACCINE_PEOPLE = (*STATS_PEOPLE, "第一针疫苗接种时间", "第二针疫苗接种时间", "第三针疫苗接种时间")
LEDGER_EXPORT = ("企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "负责人姓名", "负责人电话", "居住地址",
                 "最近一次核酸检测结果", "最近一次核酸检测时间", "第一针疫苗接种时间", "第二针疫苗接种时间",
                 "第三针疫苗接种时间")


def template(enterprise_names: list[str]) -> bytes:
    rows = 50_000

    def dropdowns(book, sheet) -> None:
        if enterprise_names:
            lists = book.add_worksheet("可选企业")
            for row, name in enumerate(enterprise_names):
                lists.write_string(row, 0, name)
            lists.hide()
            sheet.data_validation(1, 3, rows, 3, {"validate": "list",
                                                  "source": f"='可选企业'!$A$1:$A${len(enterprise_names)}",
                                                  "error_message": "请从下拉列表选择您负责的企业"})
        sheet.data_validation(1, 4, rows, 4, {"validate": "list", "source": list(catalog.PERSON_CATEGORIES),
                                              "error_message": "请从下拉列表选择人员类别"})
        sheet.data_validation(1, 5, rows, 5, {"validate": "list", "source": list(catalog.RESIDENCE_TYPES),
                                              "error_message": "请从下拉列表选择居住类型"})

    lines = [
        "1. 红色表头为必填项；从第 2 行开始每行填写一人，不要修改、删除表头（多出的列会被忽略）。",
        "2. 身份证号码、手机号码两列已设为文本格式。请勿改为数字格式：Excel 只保留 15 位有效数字，"
        "18 位身份证号码会被改成 4.40308E+17 之类并丢失末尾数字，这样的行无法导入。",
        "3. 从其他表格粘贴时请用“选择性粘贴—数值”，不要粘贴公式；含公式的单元格无法导入。",
        "4. 首尾空格、全角数字与字母、小写 x 会被自动纠正；15 位旧身份证号码会自动升级为 18 位。",
        "5. 支持港澳台居民居住证、外国人永久居留身份证（18 位，规则同身份证）。",
        "6. 企业名称请从下拉列表选择；只负责一家企业时可不填。",
        "7. 人员类别可选：" + "、".join(catalog.PERSON_CATEGORIES) + "；居住类型可选："
        + "、".join(catalog.RESIDENCE_TYPES) + "。",
        "8. 项目名称仅建筑工地类企业填写。",
        "9. 同一企业同一身份证号码只保留一人：表内重复或系统中已存在的，以本表最后一行为准覆盖原有数据。",
        "10. 校验不通过的行不会导入，系统会生成失败文件（原有列 + 异常信息 + 原表行号），修改后可再次导入。",
    ]
    columns = [(t, 22 if t in ("身份证号码", "企业名称", "居住地址", "项目名称") else 14, t in REQUIRED)
               for t in TEMPLATE_COLUMNS]
    return write_template("员工信息", columns, lines, dropdowns)


def _time(value: str | None) -> str:
    if not value:
        return ""
    from datetime import datetime

    return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _day(value: str | None) -> str:
    return (value or "")[:10]


def head_export(rows: Iterable[dict]) -> bytes:
    def cells(item: dict):
        h = item["health"]
        return [item["extra"].get("project_name", ""), item["name"], item["id_number"], item["phone"],
                item["person_category"], item["address"], item["residence_type"], _time(h["last_sampled_at"]),
                h["last_result"] or "", _day(h["dose1_at"]), _day(h["dose2_at"]), _day(h["dose3_at"]),
                item["enterprise_name"]]

    return write_table("员工信息", HEAD_EXPORT, (cells(r) for r in rows))


def ledger_export(rows: Iterable[dict]) -> bytes:
    def cells(item: dict):
        h = item["health"]
        return [item["enterprise_name"], item["name"], item["town"], item["phone"], item["id_number"],
                item["head_name"], item["head_phone"], item["address"], h["last_result"] or "",
                # 最近一次核酸检测时间 is the sampling time, as everywhere (the statistics count by it), never
                # the result time
                _time(h["last_sampled_at"]), _day(h["dose1_at"]), _day(h["dose2_at"]), _day(h["dose3_at"])]

    return write_table("哨点人员", LEDGER_EXPORT, (cells(r) for r in rows))


def stats_people(kind: str, rows: Iterable[dict]) -> bytes:
    """The people one number of 核酸数据统计 (`kind` "nat": with the samples each had in the period) or
    疫苗数据统计 ("vaccine") counts, as the dialog lists them."""
    def cells(item: dict):
        h = item["health"]
        first = [item["enterprise_name"], item["name"], item["town"], item["phone"], item["id_number"],
                 item["person_category"]]
        if kind == "nat":
            return [*first, h["last_result"] or "", _time(h["last_sampled_at"]), int(item.get("samples") or 0)]
        return [*first, _day(h["dose1_at"]), _day(h["dose2_at"]), _day(h["dose3_at"])]

    return write_table("人员明细", NAT_PEOPLE if kind == "nat" else VACCINE_PEOPLE, (cells(r) for r in rows),
                       widths=(30, 10, 10, 14, 22, 10, *((12, 18, 12) if kind == "nat" else (18, 18, 18))))
