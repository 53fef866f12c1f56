"""Uploads past 6 MB (issue 24, item 7): a workbook goes straight to S3 with a presigned POST the API signs
for exactly its job's key, never through the API; the file's checks are the worker's, reported on the job;
a job whose file never arrives ends failed with its reason instead of waiting 排队中 for good."""
from __future__ import annotations

import base64
import io
import json
import random
from datetime import timedelta

import pytest

from tests.functional.importing import deliver, post_form, workbook
from tests.functional.test_staff import HEAD, district, id_number  # noqa: F401 - fixture
from tests.functional.test_staff_import import EXPRESS, HEADER, row, upload

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _padded_staff_workbook(rows: int, padding: int) -> bytes:
    """A staff workbook whose rows carry a 备注 column of `padding` characters that do not compress (base64
    of random bytes): large in bytes at a row count one import handles in seconds on moto."""
    import xlsxwriter

    rng = random.Random(24)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("员工")
    sheet.write_row(0, 0, [*HEADER, "备注"])
    for n in range(rows):
        values = row(n % 1000, f"员工{chr(0x4E00 + n // 1000)}{chr(0x4E00 + n % 1000)}", 身份证号码=id_number(n % 1000, born=f"{1950 + n // 1000}0101"),
                     手机号码=f"137{n:08d}")
        for col, value in enumerate([*values, base64.b64encode(rng.randbytes(padding * 3 // 4)).decode()]):
            sheet.write_string(n + 1, col, value)
    book.close()
    return buffer.getvalue()


def _policy(upload) -> dict:
    return json.loads(base64.b64decode(upload["fields"]["policy"]))


@pytest.mark.once  # the upload path, not the store: 20 MB in 3,000 rows of long cells (the writes at size: test_staff_import)
def test_a_20_mb_workbook_goes_straight_to_s3_and_is_imported(api, aws, district, head_login):
    token = head_login(HEAD)
    rows = 3_000
    data = _padded_staff_workbook(rows, padding=9_600)
    assert len(data) >= 20 << 20, len(data)  # past API Gateway's 10 MB and Lambda's 6 MB event
    request = {"filename": "全部员工.xlsx", "size": len(data)}
    assert len(json.dumps(request)) < 100  # what the API carries: a name and a size, never the file
    status, job = api.post("/api/staff/import", token=token, body=request)
    assert status == 202 and job["status"] == "queued", job
    assert post_form(job["upload"], data, "全部员工.xlsx") == 204
    deliver(aws)
    job = api.get(f"/api/imports/{job['id']}", token=token)[1]
    assert (job["status"], job["total"], job["created"], job["updated"], job["failed"]) == \
        ("done", rows, rows, 0, 0), job
    assert job["filename"] == "全部员工.xlsx"
    assert api.get("/api/staff?page_size=20", token=token)[1]["total"] == rows


def test_the_api_never_carries_a_file(api, aws, district, head_login, login):
    """The import and upload routes take a name and a size (JSON); a file sent to them is refused, as a body
    past the form limit on its declared length or as a content type they do not take."""
    head, admin = head_login(HEAD), login("admin")
    deliver(aws)  # the roster marks of the district's registration
    data = workbook([row(1, "甲")], header=HEADER)
    for path, token in (("/api/staff/import", head), ("/api/enterprises/import", admin), ("/api/feeds/upload", admin)):
        status, body = api.call("POST", path, token=token, raw=data, headers={"Content-Type": XLSX})
        assert status == 415 and "只接受 JSON" in body["message"], (path, status, body)
        status, body = api.call("POST", path, token=token, raw=b"{}",
                                headers={"Content-Length": str(5 << 20)})
        assert status == 413 and "文件不经由此接口上传" in body["message"], (path, body)
    status, body = api.post("/api/staff/import", token=head, body={"filename": "员工.xlsx", "size": "很大"})
    assert status == 400 and body["fields"] == {"size": "须为不小于 0 的整数"}, body
    assert deliver(aws) == 0  # nothing reached S3


def test_the_form_lets_its_holder_put_exactly_one_workbook_at_its_jobs_key(api, aws, district, head_login):
    """What S3 enforces on AWS (moto checks none of it, hence the worker's own checks): the job's key and no
    other, 1 byte … 100 MB, the .xlsx type, for ten minutes; the job records until when its file may come."""
    from chalicelib.rules.clock import now
    from chalicelib.store.models import ImportJob

    token = head_login(HEAD)
    status, job = api.post("/api/staff/import", token=token, body={"filename": "员工.xlsx", "size": 1234})
    assert status == 202, job
    upload = job["upload"]
    assert upload["fields"]["key"] == f"uploads/staff/{job['id']}.xlsx" and upload["max_bytes"] == 100 << 20
    policy = _policy(upload)
    conditions = policy["conditions"]
    assert {"key": f"uploads/staff/{job['id']}.xlsx"} in conditions
    assert {"Content-Type": XLSX} in conditions and upload["fields"]["Content-Type"] == XLSX
    assert ["content-length-range", 1, 100 << 20] in conditions
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)  # no key prefix, no other key
    expires = ImportJob.get(job["id"]).upload_until
    assert timedelta(minutes=39) < expires - now() <= timedelta(minutes=40)  # 10 minutes to begin, 30 to arrive
    from chalicelib.config import settings

    assert upload["url"] == f"https://{settings().files_bucket}.s3.us-east-1.amazonaws.com/"


def test_an_upload_is_asked_for_within_the_callers_own_role_and_scope(api, aws, district, head_login, login):
    """Each upload route as today's import routes checked it: only heads import staff (of their own
    enterprises: the rows naming another's fail), only registrars import enterprises, only 运维 uploads feeds;
    a job and its form are its requester's alone."""
    body = {"filename": "a.xlsx", "size": 100}
    for path, refused in (("/api/staff/import", ("admin", "youzheng", "nanshajie", "zhuanban")),
                          ("/api/enterprises/import", ("zhuanban",)),
                          ("/api/feeds/upload", ("youzheng", "nanshajie", "zhuanban"))):
        for username in refused:
            status, answer = api.post(path, token=login(username), body={**body, "kind": "nat"})
            assert status == 403 and "upload" not in answer, (path, username, answer)
    head = head_login(HEAD)
    assert api.post("/api/enterprises/import", token=head, body=body)[0] == 403
    assert api.post("/api/feeds/upload", token=head, body={**body, "kind": "nat"})[0] == 403
    status, job = upload(api, head, workbook([row(1, "甲"), row(2, "乙", enterprise="别家物流")], header=HEADER))
    deliver(aws)
    job = api.get(f"/api/imports/{job['id']}", token=head)[1]
    assert (job["created"], job["failed"]) == (1, 1), job  # another head's enterprise: refused by row
    for other in (head_login("13900139000"), login("admin")):
        assert api.get(f"/api/imports/{job['id']}", token=other)[0] == 404


def test_a_job_whose_file_never_arrived_ends_failed_with_its_reason(api, aws, district, head_login):
    from chalicelib.rules.clock import now
    from chalicelib.store.models import ImportJob

    token = head_login(HEAD)
    status, job = api.post("/api/staff/import", token=token, body={"filename": "员工.xlsx", "size": 4096})
    assert status == 202
    assert api.get(f"/api/imports/{job['id']}", token=token)[1]["status_label"] == "排队中"  # within its time
    ImportJob(job["id"]).update(actions=[ImportJob.upload_until.set(now() - timedelta(seconds=1))])
    answer = api.get(f"/api/imports/{job['id']}", token=token)[1]
    assert (answer["status"], answer["status_label"]) == ("failed", "失败"), answer
    assert answer["message"].startswith("未收到导入文件") and "请重新导入" in answer["message"]
    assert answer["finished_at"]

    # a file that did arrive in time but whose event still waits in a busy queue is not failed by the clock
    data = workbook([row(1, "甲")], header=HEADER)
    status, late = api.post("/api/staff/import", token=token, body={"filename": "员工.xlsx", "size": len(data)})
    post_form(late["upload"], data)
    ImportJob(late["id"]).update(actions=[ImportJob.upload_until.set(now() - timedelta(seconds=1))])
    assert api.get(f"/api/imports/{late['id']}", token=token)[1]["status"] == "queued"
    deliver(aws)
    assert api.get(f"/api/imports/{late['id']}", token=token)[1]["status"] == "done"


def test_the_worker_refuses_a_file_past_the_limits_in_the_apis_old_words(api, aws, district, head_login,
                                                                          monkeypatch):
    """The size S3 would have refused (moto does not), and rows past what one invocation imports."""
    from chalicelib.services.jobs import imports
    from chalicelib.services.registry import staff_import

    token = head_login(HEAD)
    small = workbook([row(1, "甲")], header=HEADER)
    status, job = api.post("/api/staff/import", token=token, body={"filename": "员工.xlsx", "size": len(small)})
    big = workbook([row(n, f"员工{n}") for n in range(1, 300)], header=HEADER)  # more than it said, more than allowed
    monkeypatch.setattr(imports, "MAX_BYTES", len(small) + 100)
    post_form(job["upload"], big)
    deliver(aws)
    answer = api.get(f"/api/imports/{job['id']}", token=token)[1]
    assert (answer["status"], answer["message"]) == ("failed", f"文件超过 {imports.MAX_BYTES >> 20} MB，请拆分后分批导入")
    monkeypatch.undo()

    monkeypatch.setattr(staff_import, "MAX_ROWS", 100)
    status, job = upload(api, token, big)
    deliver(aws)
    answer = api.get(f"/api/imports/{job['id']}", token=token)[1]
    assert answer["status"] == "failed" and "超过单次导入上限 100 行" in answer["message"], answer
    assert api.get("/api/staff", token=token)[1]["total"] == 0


def test_an_upload_begun_for_one_enterprise_heads_rows_use_the_requesters_scope_when_imported(
        api, aws, district, head_login, login):
    """A form is a key, not a right: whatever is posted with it is imported as its requester, so a bureau's
    enterprise import of another bureau's category fails by row as before."""
    token = login("youzheng")
    data = workbook([["建筑工地", "某工地", "南沙街", "", "王五", "13900000003", "某路", "某项目"]])
    status, job = api.post("/api/enterprises/import", token=token, body={"filename": "企业.xlsx", "size": len(data)})
    post_form(job["upload"], data)
    deliver(aws)
    job = api.get(f"/api/imports/{job['id']}", token=token)[1]
    assert (job["status"], job["created"], job["failed"]) == ("done", 0, 1), job
    assert EXPRESS  # the district fixture's express enterprise is untouched
