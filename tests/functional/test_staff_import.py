"""导入 of staff (§2.2.3) through the real path, with each Excel trap the issue names."""
from __future__ import annotations

import io

import openpyxl
import pytest

from tests.functional.importing import BAD_FILES, deliver, start_upload, workbook, zip_bomb
from tests.functional.test_staff import HEAD, OTHER_HEAD, district, id_number  # noqa: F401 - fixture

ROWS = int(__import__("os").environ.get("STAFF_IMPORT_ROWS", "20000"))
HEADER = ["姓名", "身份证号码", "手机号码", "企业名称", "人员类别", "居住类型", "居住地址"]
EXPRESS = "南沙速递营业部"


def row(n, name="陈志强", enterprise=EXPRESS, **overrides):
    values = {"姓名": name, "身份证号码": id_number(n), "手机号码": f"1371234{n:04d}", "企业名称": enterprise,
              "人员类别": "一线人员", "居住类型": "自行租住", "居住地址": "广州市南沙区进港大道1号"}
    values.update(overrides)
    return [values[h] for h in HEADER]


def upload(api, token, data, filename="员工.xlsx"):
    return start_upload(api, "/api/staff/import", token, data, filename)


def run_import(api, aws, token, data, times=1):
    status, job = upload(api, token, data)
    assert status == 202, job
    deliver(aws, times=times)
    return api.get(f"/api/imports/{job['id']}", token=token)[1]


def failures(api, token, job):
    status, data = api.get(f"/api/imports/{job['id']}/failures", token=token)
    assert status == 200
    return list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def staff_names(api, token):
    return sorted(i["name"] for i in api.get("/api/staff?page_size=500", token=token)[1]["items"])


def test_the_issue_workbook(api, aws, district, head_login):
    """Good rows, a repeated ID, a numeric ID, a bad checksum and a wrong enterprise."""
    token = head_login(HEAD)
    bad_check = id_number(4)[:-1] + ("0" if id_number(4)[-1] != "0" else "1")
    data = workbook([
        row(1, "甲"),
        row(2, "乙"),
        row(1, "甲改"),  # the same ID in the same enterprise: last one wins, counted as updated
        row(3, "丙", 身份证号码=4.403081999011015e+17),  # typed as a number: precision already lost
        row(4, "丁", 身份证号码=bad_check),
        row(5, "戊", enterprise="别家物流"),  # another head's enterprise
        row(6, "己", enterprise="黄阁某工地"),  # the head's second enterprise
    ], header=HEADER)
    job = run_import(api, aws, token, data)
    assert (job["status"], job["total"], job["created"], job["updated"], job["failed"]) == ("done", 7, 3, 1, 3), job
    assert staff_names(api, token) == ["乙", "己", "甲改"]
    rows = failures(api, token, job)
    assert rows[0] == (*HEADER, "异常信息", "原表行号")
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["丙"][1] == "4.403081999011015e+17"  # shown as Excel showed it
    assert by_name["丙"][7] == "列为“身份证号码”，身份证号码被存为数字，请将该列设为文本后重新填写！"
    assert by_name["丁"][7] == "列为“身份证号码”，数据格式不正确（校验位错误，请核对号码）！"
    assert by_name["戊"][7] == "列为“企业名称”，不是您负责的企业，请核对企业名称！"
    assert [by_name[n][8] for n in ("丙", "丁", "戊")] == ["5", "6", "7"]
    counts = {e["name"]: e["staff_count"] for e in api.get("/api/enterprises", token=token)[1]["items"]}
    assert counts == {EXPRESS: 2, "黄阁某工地": 1}
    assert api.get("/api/staff", token=head_login(OTHER_HEAD))[1]["total"] == 0  # nothing leaked across


def test_every_problem_of_a_row_is_listed_in_the_seed_wording(api, aws, district, head_login):
    token = head_login(HEAD)
    data = workbook([["张三", "567834444", "1332789767", "", "临时工", "酒店", ""]], header=HEADER)
    job = run_import(api, aws, token, data)
    reason = failures(api, token, job)[1][7]
    for part in ("列为“身份证号码”，数据格式不正确（应为18位，实际9位）！", "列为“手机号码”，数据格式不正确（应为11位手机号码）！",
                 "列为“企业名称”，您管理多家企业，请填写企业名称（南沙速递营业部、黄阁某工地）！", "列为“人员类别”，不在可选范围内", "列为“居住类型”，不在可选范围内",
                 "列为“居住地址”，不能为空！"):
        assert part in reason, reason


def test_excel_traps_that_are_corrected_silently(api, aws, district, head_login):
    """Spaces, full-width characters, lowercase x, a 15-digit ID, blank lines, extra columns, a header
    moved down and renamed, and an ID pasted as text in scientific notation (refused)."""
    token = head_login(HEAD)
    header = ["备注", "员工姓名", "身份证号", "手机号", "单位名称", "人员类型", "居住类型", "现住址"]
    x_id = "11010519491231002X"
    data = workbook([
        ["多余列", " 甲 ", "  " + id_number(1) + "  ", " 137 1234 0001 ", EXPRESS, "一线人员", "", "地址一"],
        [None] * 8,
        ["", "乙", "１１０１０５１９４９１２３１００２ｘ", "１３７１２３４０００２", "南沙速递 营业部", "管理人员", "单位宿舍", "地址二"],
        ["", "丙", "610104620927690", "13712340003", EXPRESS, "一线人员", "", "地址三"],
        ["", "丁", "4.40308E+17", "13712340004", EXPRESS, "一线人员", "", "地址四"],
    ], header=header, before=[["员工花名册（2026年11月）"], []])
    job = run_import(api, aws, token, data)
    assert (job["created"], job["failed"]) == (3, 1), job
    items = {i["name"]: i for i in api.get("/api/staff", token=token)[1]["items"]}
    assert sorted(items) == ["丙", "乙", "甲"]
    detail = api.get(f"/api/staff/{items['乙']['id']}", token=token)[1]
    assert (detail["id_number"], detail["phone"]) == (x_id, "13712340002")
    assert api.get(f"/api/staff/{items['丙']['id']}", token=token)[1]["id_number"] == "610104196209276908"
    assert "被存为数字" in failures(api, token, job)[1][8]
    assert failures(api, token, job)[0][0] == "备注"  # extra columns are kept in the failure workbook


def test_formula_cells_are_refused_by_name(api, aws, district, head_login):
    token = head_login(HEAD)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(row(1, "甲"))
    sheet.append(row(2, "乙"))
    sheet["B3"] = '="' + id_number(2)[:9] + '"&"' + id_number(2)[9:] + '"'
    buffer = io.BytesIO()
    book.save(buffer)
    job = run_import(api, aws, token, buffer.getvalue())
    assert (job["created"], job["failed"]) == (1, 1)
    assert "列为“身份证号码”，单元格是公式" in failures(api, token, job)[1][7]


def test_blank_enterprise_is_the_only_one_or_a_problem(api, aws, make_enterprise, head_login):
    make_enterprise(name="独家物流", town="南沙街", category="express", head_phone="13600136000")
    token = head_login("13600136000")
    job = run_import(api, aws, token, workbook([row(1, "甲", enterprise="")], header=HEADER))
    assert job["created"] == 1
    make_enterprise(name="第二家", town="南沙街", category="express", head_phone="13600136000")
    job = run_import(api, aws, token, workbook([row(2, "乙", enterprise="")], header=HEADER))
    # several: the row says why it needs the name, and which names there are
    assert job["failed"] == 1
    assert "列为“企业名称”，您管理多家企业，请填写企业名称（独家物流、第二家）！" in failures(api, token, job)[1][7]


def test_a_blank_enterprise_among_many_names_at_most_five(api, aws, make_enterprise, head_login):
    for n in range(7):
        make_enterprise(name=f"{n}号门店", town="南沙街", category="express", head_phone="13600136000")
    token = head_login("13600136000")
    job = run_import(api, aws, token, workbook([row(1, "甲", enterprise=""), row(2, "乙", enterprise="3号门店")],
                                               header=HEADER))
    assert (job["created"], job["failed"]) == (1, 1)
    reason = failures(api, token, job)[1][7]
    assert reason == "列为“企业名称”，您管理多家企业，请填写企业名称（0号门店、1号门店、2号门店、3号门店、4号门店等7家）！"


def test_reimport_updates_and_keeps_the_registration_time(api, aws, district, head_login):
    token = head_login(HEAD)
    run_import(api, aws, token, workbook([row(1, "甲")], header=HEADER))
    first = api.get("/api/staff", token=token)[1]["items"][0]
    job = run_import(api, aws, token, workbook([row(1, "甲二"), row(2, "乙")], header=HEADER))
    assert (job["created"], job["updated"]) == (1, 1)
    again = {i["name"]: i for i in api.get("/api/staff", token=token)[1]["items"]}
    assert again["甲二"]["id"] == first["id"] and again["甲二"]["created_at"] == first["created_at"]


def test_redelivered_event_imports_once(api, aws, district, head_login):
    token = head_login(HEAD)
    job = run_import(api, aws, token, workbook([row(1, "甲"), row(2, "乙")], header=HEADER), times=3)
    assert (job["status"], job["created"], job["updated"]) == ("done", 2, 0)
    assert staff_names(api, token) == ["乙", "甲"]


@pytest.mark.parametrize("data,message", [*BAD_FILES, (zip_bomb(), "解压后过大")],
                         ids=["xls", "encrypted", "csv", "broken-zip", "empty", "zip-bomb"])
def test_bad_files_are_refused_on_the_job_and_staff_untouched(api, aws, district, head_login, data, message):
    """The checks the API made when it received files are the worker's now, in the same words, on the job;
    an empty file is refused before it is sent (the size the page declares)."""
    token = head_login(HEAD)
    run_import(api, aws, token, workbook([row(1, "甲")], header=HEADER))
    deliver(aws)  # the roster mark the import raised
    if not data:
        status, body = upload(api, token, data)
        assert status == 400 and message in body["message"]
    else:
        job = run_import(api, aws, token, data)
        assert job["status"] == "failed" and message in job["message"], job
    assert deliver(aws) == 0 and staff_names(api, token) == ["甲"]


def test_wrong_header_fails_the_job_with_a_message(api, aws, district, head_login):
    token = head_login(HEAD)
    job = run_import(api, aws, token, workbook([["甲", "x"]], header=["姓名", "备注"]))
    assert job["status"] == "failed" and "未找到表头行" in job["message"]
    job = run_import(api, aws, token, workbook([["甲", "x", "y"]], header=["姓名", "手机号码", "备注"]))
    assert job["status"] == "failed" and "缺少“身份证号码”列" in job["message"]


@pytest.mark.parametrize("username", ["admin", "nanshajie", "zhuanban"])
def test_only_heads_import_staff(api, aws, login, username):
    assert upload(api, login(username), workbook([row(1)], header=HEADER))[0] == 403


@pytest.mark.once  # the same batching at size, once is enough (moto: 2.4 s per 1,000 rows, DynamoDB Local 4.7 s)
def test_twenty_thousand_rows(api, aws, district, head_login):
    token = head_login(HEAD)
    rows = [row(n % 1000, f"员工{chr(0x4E00 + n // 1000)}", 身份证号码=id_number(n % 1000, born=f"{1950 + n // 1000}0101"))
            for n in range(ROWS)]
    job = run_import(api, aws, token, workbook(rows, header=HEADER))
    assert (job["status"], job["total"], job["created"], job["failed"]) == ("done", ROWS, ROWS, 0), job
    assert job["processed"] == ROWS
    assert api.get("/api/staff?page_size=20", token=token)[1]["total"] == ROWS
