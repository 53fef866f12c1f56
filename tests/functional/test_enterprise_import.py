"""批量导入 through the real path: API → S3 object → S3 notification → SQS → the Lambda handler."""
from __future__ import annotations

import io

import openpyxl
import pytest

from tests.functional.importing import BAD_FILES, deliver, start_upload, workbook, zip_bomb

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["主体类型", "主体名称", "所属镇街", "所属网格", "负责人姓名", "负责人电话", "主体地址", "项目名称"]


def upload(api, token, data, filename="企业.xlsx"):
    return start_upload(api, "/api/enterprises/import", token, data, filename)


def run_import(api, aws, token, data):
    status, job = upload(api, token, data)
    assert status == 202, job
    assert job["status"] == "queued"
    deliver(aws)
    return api.get(f"/api/imports/{job['id']}", token=token)[1]


GOOD = ["快递物流", "南沙速递营业部", "南沙街", "", "陈志强", "13800138000", "进港大道1号", ""]


def test_good_bad_and_repeated_rows(api, aws, login):
    token = login("youzheng")
    data = workbook([
        GOOD,
        ["快递物流", "珠江快运", "珠江街", "", "李四", "1391234", "珠江路2号", ""],  # bad phone
        ["建筑工地", "某工地", "南沙街", "", "王五", "13900000003", "某路", "某项目"],  # not this bureau's
        [None] * 8,  # blank line, skipped
        ["快递物流", "南沙速递营业部", "南沙街", "", "陈志强（新）", "13800138000", "进港大道1号", ""],  # last wins
        ["快递物流", "", "火星", "", "", "abc", "", ""],
    ])
    job = run_import(api, aws, token, data)
    assert (job["status"], job["total"], job["created"], job["updated"], job["failed"]) == ("done", 5, 1, 1, 3)
    items = api.get("/api/enterprises", token=token)[1]["items"]
    assert [(i["name"], i["head_name"]) for i in items] == [("南沙速递营业部", "陈志强（新）")]

    status, data = api.get(f"/api/imports/{job['id']}/failures", token=token)
    rows = list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[0] == (*HEADER, "异常信息", "原表行号")
    assert rows[1][1] == "珠江快运" and rows[1][8] == "列为“负责人电话”，请输入正确的11位手机号码！"
    assert [r[9] for r in rows[1:]] == ["3", "4", "7"]  # where each refused row was in the upload
    assert rows[2][8] == "该主体类型不在您单位的管理范围内！"
    assert rows[3][8].count("列为") == 5 and "列为“所属镇街”，不是南沙区的镇街！" in rows[3][8]


def test_existing_enterprise_is_updated(api, aws, login, make_enterprise):
    make_enterprise(head_name="旧名字")
    job = run_import(api, aws, login("admin"), workbook([GOOD]))
    assert (job["created"], job["updated"]) == (0, 1)
    assert api.get("/api/enterprises", token=login("admin"))[1]["items"][0]["head_name"] == "陈志强"


def test_redelivered_event_imports_once(api, aws, login):
    token = login("admin")
    status, job = upload(api, token, workbook([GOOD]))
    deliver(aws, times=3)
    job = api.get(f"/api/imports/{job['id']}", token=token)[1]
    assert (job["created"], job["updated"]) == (1, 0)
    assert api.get("/api/enterprises", token=token)[1]["total"] == 1


def test_header_moved_down_and_renamed(api, aws, login):
    header = ["企业类型", "企业名称", "镇街", "责任人姓名", "责任人电话", "企业地址", "备注"]
    data = workbook([["快递物流", "甲", "南沙街", "张三", 13800138000, "某路", "多余列"]], header=header,
                    before=[["南沙区哨点企业登记表"], []])
    job = run_import(api, aws, login("admin"), data)
    assert (job["created"], job["failed"]) == (1, 0)
    assert api.get("/api/enterprises", token=login("admin"))[1]["items"][0]["head_phone"] == "138****8000"


def test_missing_columns_fail_the_job_with_a_message(api, aws, login):
    job = run_import(api, aws, login("admin"), workbook([["甲", "南沙街"]], header=["主体名称", "所属镇街"]))
    assert job["status"] == "failed" and "“主体类型”" in job["message"] and "“负责人电话”" in job["message"]


@pytest.mark.parametrize("data,message", BAD_FILES, ids=["xls", "encrypted", "csv", "broken-zip", "empty"])
def test_bad_files_are_refused_on_the_job(api, aws, login, data, message):
    """What the API refused when files came through it, the worker refuses in the same words, on the job."""
    token = login("admin")
    if not data:  # the declared size: refused before anything is sent
        status, body = upload(api, token, data)
        assert status == 400 and message in body["message"]
        return
    job = run_import(api, aws, token, data)
    assert job["status"] == "failed" and message in job["message"], job
    assert api.get("/api/enterprises", token=token)[1]["total"] == 0


def test_zip_bomb_is_refused(api, aws, login):
    job = run_import(api, aws, login("admin"), zip_bomb())
    assert job["status"] == "failed" and "解压后过大" in job["message"], job


def test_wrong_extension_and_size(api, aws, login, monkeypatch):
    status, body = upload(api, login("admin"), workbook([GOOD]), filename="企业.xls")
    assert status == 400 and ".xlsx" in body["message"]
    status, body = api.post("/api/enterprises/import", token=login("admin"),
                            body={"filename": "企业.xlsx", "size": (100 << 20) + 1})
    assert status == 413 and body["message"] == "文件超过 100 MB，请拆分后分批导入", body


def test_jobs_belong_to_their_uploader(api, aws, login):
    job = run_import(api, aws, login("admin"), workbook([GOOD, ["快递物流"]]))
    assert api.get(f"/api/imports/{job['id']}", token=login("youzheng"))[0] == 404
    assert api.get(f"/api/imports/{job['id']}/failures", token=login("youzheng"))[0] == 404


def test_only_registrars_import(api, aws, login):
    assert upload(api, login("zhuanban"), workbook([GOOD]))[0] == 403
