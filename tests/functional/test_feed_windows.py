"""Issue 22, item 0: no feed file is lost for a repeated row, and every rule's window is judged whole.

Repeats: a provider's file may name one sample (ID, 采样时间, 采样点) or one dose (ID, 剂次) twice. Each is
stored once — DynamoDB refuses a BatchWriteItem naming an item twice, which used to fail the whole file
— and counted as 重复 in the file's report, whether the repeat sits next to the first row, in another
write chunk or in another block of the file. Two reports of one sample keep its final result (阳性 over
阴性 over 未出结果); otherwise the later row wins.

Windows: 十四天一检 on day D looks at D−14 00:00:00 … D−1 23:59:59 (Asia/Shanghai). A sample at D−14
00:00:00 must be ingested, kept and counted by the night whatever hour the file arrives or the night
runs; one at D−15 23:59:59 is outside.
"""
from __future__ import annotations

import io
import sys
from datetime import date, datetime, time, timedelta

import openpyxl
import pytest

from chalicelib.rules.clock import SHANGHAI, local_day
from tests.functional.test_compliance import night_run, pid
from tests.functional.test_feeds import NAT_HEADER, drop, feed, feed_files, people, stamp  # noqa: F401 - fixture
from tests.functional.test_staff import HEAD, district, id_number, person  # noqa: F401 - fixture

VACCINE_HEADER = "身份证号码,姓名,剂次,接种日期,疫苗产品,接种单位\n"


def _key(number: str) -> str:
    from chalicelib.services.registry.staff import person_key

    return person_key(number)


def _records(number: str, kind: str = "nat") -> list:
    from chalicelib.store.models import HealthRecord

    return sorted((r for r in HealthRecord.query(_key(number)) if r.kind == kind), key=lambda r: r.record_key)


def _stranger_rows(number: str, kind: str = "nat") -> list:
    """What the stranger index holds of someone nobody registered (no record is written for them)."""
    from chalicelib.services.health import strangers

    return strangers.lookup([_key(number)]).get(_key(number), {}).get(kind, [])


def _health(api, token, name: str) -> dict:
    """One person's health in the head's list (a one-character name is no search term: the list, filtered)."""
    return next(p for p in api.get("/api/staff?page_size=100", token=token)[1]["items"] if p["name"] == name)["health"]


# --- repeated rows ------------------------------------------------------------------------------------


def test_a_nat_file_with_repeated_rows_is_stored_once_each_and_the_repeats_are_reported(api, aws, login, people):
    token, _ = people
    stranger = id_number(500)
    rows = [
        (id_number(1), "甲", stamp(5), "A点", "阴性"),
        (id_number(1), "甲", stamp(5), "A点", "阴性"),  # the same row again
        (id_number(1), "甲", stamp(5), "B点", "阴性"),  # same minute, another site: another sample
        (id_number(2), "乙", stamp(6), "A点", "阳性"),
        (id_number(2), "乙", stamp(6), "A点", "阴性"),  # later, but 阳性 is the final result
        (id_number(3), "丙", stamp(7), "A点", "未出结果"),
        (id_number(3), "丙", stamp(7), "A点", "阴性"),  # the result came
        (id_number(3), "丙", stamp(7), "A点", "未出结果"),  # a stale copy does not undo it
        (stranger, "路人", stamp(2), "A点", "阴性"),
        (stranger, "路人", stamp(2), "A点", "阴性"),  # nobody registered: stored once all the same
    ]
    drop("feeds/nat/repeats.csv",
         (NAT_HEADER + "".join(f"{n},{name},{at},,{result},{site}\n" for n, name, at, site, result in rows)).encode())
    assert feed(aws) == 1
    report = feed_files(api, login)[0]
    assert (report["status"], report["rows_read"], report["matched"], report["unmatched"], report["rejected"],
            report["repeated"]) == ("done", 10, 4, 1, 0, 5), report
    assert report["message"].endswith("，重复 5"), report["message"]

    assert [(r.site, r.result) for r in _records(id_number(1))] == [("A点", "阴性"), ("B点", "阴性")]
    assert [r.result for r in _records(id_number(2))] == ["阳性"]
    assert [r.result for r in _records(id_number(3))] == ["阴性"]
    assert _records(stranger) == [] and len(_stranger_rows(stranger)) == 1
    assert _health(api, token, "乙")["last_result"] == "阳性"
    assert _health(api, token, "丙")["last_result"] == "阴性"


@pytest.mark.parametrize("layout", ["clean", "quoted"])
def test_repeats_in_other_blocks_and_write_chunks_are_found(api, aws, login, people, monkeypatch, layout):
    """`clean`: the column-at-a-time path in 4 KB blocks; `quoted`: the csv module's path, two rows a block.
    Writes go two rows at a time, so every repeat is in another chunk than its first row."""
    from chalicelib.services.feeds import apply, parts, reader

    token, _ = people
    blocks: list[int] = []

    def small_blocks(*args, **kwargs):
        for block in reader.csv_blocks(*args, block_bytes=4096, **kwargs):
            blocks.append(block.count)
            yield block

    monkeypatch.setattr(parts, "csv_blocks", small_blocks)
    monkeypatch.setattr(reader, "ROWS_PER_BLOCK", 2)
    monkeypatch.setattr(apply, "WRITE_CHUNK", 2)
    quote = '"' if layout == "quoted" else ""
    first = [f"{id_number(1)},{quote}甲{quote},{stamp(5)},,阳性,A点\n", f"{id_number(2)},乙,{stamp(6)},,阴性,A点\n"]
    passerby = [id_number(n % 1000, born=f"198001{1 + n // 1000:02d}") for n in range(1500)]  # 1,500 people
    padding = [f"{number},路人,{stamp(3 + n / 1000)},,阴性,B点\n" for n, number in enumerate(passerby)]
    last = [f"{id_number(1)},甲,{stamp(5)},,阴性,A点\n",  # later, lower: 阳性 stays
            f"{id_number(2)},乙,{stamp(6)},,阳性,A点\n",  # later, higher: 阳性
            padding[0]]  # a stranger's row again, 1,500 rows later
    drop("feeds/nat/far.csv", (NAT_HEADER + "".join(first + padding + last)).encode())
    feed(aws)
    report = feed_files(api, login)[0]
    assert (report["status"], report["rows_read"], report["matched"], report["unmatched"],
            report["repeated"]) == ("done", 1505, 2, 1500, 3), report
    assert len(blocks) > 2 and blocks[0] < 1500, blocks  # first and last rows blocks apart
    assert [r.result for r in _records(id_number(1))] == ["阳性"]
    assert [r.result for r in _records(id_number(2))] == ["阳性"]
    assert len(_stranger_rows(passerby[0])) == 1
    assert _health(api, token, "甲")["last_result"] == _health(api, token, "乙")["last_result"] == "阳性"


def _vaccine_rows(stranger: str) -> list[tuple]:
    return [
        (id_number(1), "甲", "第一针", "2021-05-01", "北京生物", "南沙区疾控"),
        (id_number(1), "甲", "1", "2021-05-01", "北京生物", "南沙区疾控"),  # the same dose, written otherwise
        (id_number(1), "甲", "2", "2021-06-01", "北京生物", "南沙区疾控"),
        (id_number(2), "乙", "加强针", "2022-03-01", "智飞龙科马", "黄阁卫生院"),
        (id_number(2), "乙", "3", "2022-03-05", "智飞龙科马", "黄阁卫生院"),  # corrected later in the file
        (stranger, "路人", "1", "2021-01-01", "科兴", "x"),
        (stranger, "路人", "1", "2021-01-01", "科兴", "x"),
    ]


@pytest.mark.parametrize("layout", ["csv", "xlsx_in_blocks_of_two"])
def test_a_vaccination_file_naming_a_dose_twice_keeps_the_later_row(api, aws, login, people, monkeypatch, layout):
    from chalicelib.services.feeds import reader

    token, _ = people
    stranger = id_number(500)
    rows = _vaccine_rows(stranger)
    if layout == "csv":
        drop("feeds/vaccine/repeats.csv", (VACCINE_HEADER + "".join(",".join(r) + "\n" for r in rows)).encode())
    else:
        monkeypatch.setattr(reader, "ROWS_PER_BLOCK", 2)
        book = openpyxl.Workbook()
        book.active.append(["身份证号码", "姓名", "剂次", "接种日期", "疫苗产品", "接种单位"])
        for row in rows:
            book.active.append(list(row))
        buffer = io.BytesIO()
        book.save(buffer)
        drop("feeds/vaccine/repeats.xlsx", buffer.getvalue())
    feed(aws)
    report = feed_files(api, login, "vaccine")[0]
    assert (report["status"], report["rows_read"], report["matched"], report["unmatched"],
            report["repeated"]) == ("done", 7, 3, 1, 3), report
    assert report["message"].endswith("，重复 3") and "超过14天" not in report["message"], report["message"]
    assert [(r.dose, r.vaccinated_on) for r in _records(id_number(1), "vaccine")] == [(1, "2021-05-01"), (2, "2021-06-01")]
    assert [(r.dose, r.vaccinated_on) for r in _records(id_number(2), "vaccine")] == [(3, "2022-03-05")]
    assert len(_stranger_rows(stranger, "vaccine")) == 1
    assert _health(api, token, "乙")["dose3_at"] == "2022-03-05"


# --- the window of 十四天一检 ------------------------------------------------------------------------------


class Clock:
    """What every module's `now` answers while a test runs at a chosen instant."""

    def __init__(self):
        self.instant: datetime | None = None

    def __call__(self) -> datetime:
        return self.instant


@pytest.fixture
def clock(monkeypatch) -> Clock:
    import app  # noqa: F401 - loads the modules whose `now` is replaced
    from chalicelib.rules import clock as real

    fake, original = Clock(), real.now
    for name, module in list(sys.modules.items()):  # the clock module too: modules imported from here on
        if (name == "app" or name.startswith("chalicelib.")) and getattr(module, "now", None) is original:
            monkeypatch.setattr(module, "now", fake)
    return fake


def at(day: date, clock_time: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(clock_time), SHANGHAI)


# (when the file arrives, when the night runs), relative to the run day D. The run day is yesterday, so
# every instant of the test lies before the real one (S3 stamps marks with the real time).
TIMINGS = {
    "file_the_day_before_night_at_0200": ((-1, "09:00:00"), "02:00:00"),
    "file_at_0100_night_at_0200": ((0, "01:00:00"), "02:00:00"),
    "file_and_night_at_0800": ((0, "08:00:00"), "08:00:00"),
}


@pytest.mark.parametrize("timing", list(TIMINGS))
def test_fourteen_days_one_test_counts_a_sample_at_the_first_second_of_its_window(
        api, aws, login, make_enterprise, head_login, clock, timing):
    from chalicelib.services.compliance import night
    from chalicelib.services.health import state as health
    from chalicelib.store.compliance import ShortfallItem
    from chalicelib.store.models import PersonHealth, Staff

    (file_day, file_time), night_time = TIMINGS[timing]
    run_day = local_day(datetime.now(SHANGHAI)) - timedelta(days=1)
    clock.instant = at(run_day + timedelta(days=file_day), file_time)
    enterprise = make_enterprise(name="南沙十四天物流", town="南沙街", category="express", head_phone=HEAD)
    token = head_login(HEAD)
    for n in range(3):
        status, body = api.post("/api/staff", token=token, body=person(enterprise["id"], n, id_number=pid(n),
                                                                     name=f"员工{'甲乙丙'[n]}"))
        assert status == 201, body
    for staff in Staff.scan():  # registered long before the window
        staff.update(actions=[Staff.created_at.set(staff.created_at - timedelta(days=30))])
    assert api.put("/api/alerts/settings/express", token=login("admin"),
                   body={"rule": "14d1", "version": 0, "recipients": []})[0] == 200

    first, outside = at(run_day - timedelta(days=14), "00:00:00"), at(run_day - timedelta(days=15), "23:59:59")
    rows = [(0, first), (1, outside), (2, at(run_day - timedelta(days=1), "10:00:00"))]
    drop("feeds/nat/window.csv", (NAT_HEADER + "".join(
        f"{pid(n)},员工,{when:%Y-%m-%d %H:%M:%S},,阴性,南沙采样点\n" for n, when in rows)).encode())
    assert feed(aws) == 1
    report = feed_files(api, login)[0]
    assert report["status"] == "done" and report["rejected"] == 0, report
    if file_day == 0:  # on D, D−15 is outside what is kept; the day before, it was still inside
        assert report["too_old"] == 1, report
    [record] = _records(pid(0))
    assert record.sampled_at == first
    assert record.expires_at == at(run_day + timedelta(days=1), "00:00:00")  # kept through D's window

    clock.instant = at(run_day, night_time)
    run = night_run(aws, run_day)
    assert (run.status, run.people) == ("done", 3), (run.status, run.message)
    short = {item.person_key for item in ShortfallItem.query(f"{run_day.isoformat()}#{enterprise['id']}")}
    assert short == {_key(pid(1))}  # D−14 00:00:00 counts; D−15 23:59:59 does not
    assert health.public(PersonHealth.get(_key(pid(0))))["last_sampled_at"] == first.isoformat()
    assert night.header(run_day.isoformat()).shortfalls == 1
