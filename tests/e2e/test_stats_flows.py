"""Issue 11 (seed §2.4.1): 查看核酸 / 疫苗接种 on a ledger row, and 核酸数据统计 / 疫苗数据统计 as a 镇街 and a
委办局 user see them — the tables, a period changed, a number clicked for its people, those people downloaded,
the tables exported — at 1440×900 and 390×844."""
from __future__ import annotations

import io
import json
import re
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta

import openpyxl
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from chalicelib.rules.clock import SHANGHAI, now
from local.demo import DEMO_PASSWORD
from tests.e2e.conftest import api_json, console_login
from tests.functional.importing import upload_over_http

DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
NAT_HEADERS = ["所属镇街", "人员类别", "人员数量", "未核酸检测人数", "核酸检测人次", "核酸检测人数", "覆盖率", "阳性人数",
               "未出结果人数", "阴性人数"]
NAT_KEYS = ["people", "untested", "samples", "tested", "coverage", "positive", "pending", "negative"]
LEDGER_HEADERS = ["企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "负责人姓名", "负责人电话", "居住地址",
                  "最近一次核酸检测结果", "最近一次核酸检测时间", "第一针疫苗接种时间", "第二针疫苗接种时间",
                  "第三针疫苗接种时间", "操作"]
# the drill-down dialog's columns, and its download's (issue 22: the download had the ledger's)
NAT_PEOPLE_HEADERS = ["企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "人员类别", "最近一次核酸检测结果",
                      "最近一次核酸采样时间", "期间检测次数"]
VACCINE_PEOPLE_HEADERS = ["企业名称", "姓名", "所属镇街", "手机号码", "身份证号码", "人员类别", "第一针疫苗接种时间",
                          "第二针疫苗接种时间", "第三针疫苗接种时间"]

# The rows of a 数据统计 table as shown: top-level rows (towns, 合计) or the children of a tree table, each a
# list of cell texts; and the leaf headers.
_TABLE = """([sel, level]) => {
  const table = document.querySelector(sel)
  return [...table.querySelectorAll('.el-table__body-wrapper tbody tr.el-table__row')]
    .filter((tr) => tr.offsetParent !== null)
    .filter((tr) => { const m = /el-table__row--level-(\\d+)/.exec(tr.className); return (m ? +m[1] : 0) === level })
    .map((tr) => [...tr.children].map((td) => td.innerText.trim()))
}"""
_HEADERS = """(sel) => [...document.querySelectorAll(`${sel} .el-table__header-wrapper th`)]
  .map((th) => th.innerText.replace(/\\s+/g, ''))"""
# Whether a page scrolls sideways, and where the table's box is against the window.
_FITS = """(sel) => {
  const box = document.querySelector(sel).getBoundingClientRect()
  const main = document.querySelector('.el-main')
  return { pageScroll: document.documentElement.scrollWidth - document.documentElement.clientWidth,
           mainScroll: main.scrollWidth - main.clientWidth, left: box.left, right: box.right, width: window.innerWidth }
}"""


def _login(base, username):
    return api_json(base, "/api/auth/login", body={"username": username, "password": DEMO_PASSWORD})["token"]


def _get(base, path, token, **query):
    return api_json(base, f"{path}?{urllib.parse.urlencode(query)}", token)


def _day(offset=0):
    return (now().astimezone(SHANGHAI) + timedelta(days=offset)).strftime("%Y-%m-%d")


def _period(days_back):
    return {"start": f"{_day(-days_back)}T00:00", "end": f"{_day()}T23:59"}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _upload(base, admin, kind, name, body):
    """数据接入's upload as the page makes it: the form from the API, the file through the /s3/ relay."""
    status, answer = upload_over_http(base, "/api/feeds/upload", admin, body, name, kind=kind)
    assert status == 202, answer


def _feed_nansha_express(base):
    """NAT samples of the last three days and a few doses for 南沙街's 快递物流 people, uploaded as an
    operator does; answers once the statistics count them."""
    admin = _login(base, "admin")
    town = _login(base, "nanshajie")
    period = {"category": "express", **_period(2)}
    before_nat = _get(base, "/api/stats/nat", town, **period)["total"]["samples"]
    before_vax = _get(base, "/api/stats/vaccine", town, category="express")["total"]["doses"][0]["vaccinated"]
    people = _get(base, "/api/ledger", admin, category="express", town="南沙街", page_size=100)["items"]
    assert people, "no 快递物流 people in 南沙街"
    numbers = {p["id"]: api_json(base, f"/api/ledger/{urllib.parse.quote(p['id'])}", admin)["id_number"] for p in people}
    current = now().astimezone(SHANGHAI)
    midnight = current.replace(hour=0, minute=0, second=0, microsecond=0)
    nat, doses = [], []
    for n, person in enumerate(people):
        number, name = numbers[person["id"]], person["name"]
        today = max(current - timedelta(minutes=20 + n), midnight + timedelta(minutes=1))
        if today > current:  # just after midnight: yesterday evening instead
            today = midnight - timedelta(hours=2)
        if n % 4 == 1:
            nat.append((number, name, today, "阴性"))
        elif n % 4 == 2:
            nat.append((number, name, midnight - timedelta(hours=14), "阴性"))  # yesterday 10:00
            nat.append((number, name, today, "未出结果" if n == 2 else "阴性"))
        elif n % 4 == 3:
            nat.append((number, name, midnight - timedelta(hours=33), "阳性" if n == 3 else "阴性"))  # 2 days ago
        if n % 3 == 0:
            doses += [[number, name, "第一针", "2021-05-10", "北京生物", "南沙区疾控中心"],
                      [number, name, "第二针", "2021-06-10", "北京生物", "南沙区疾控中心"]]
        elif n % 3 == 1:
            doses.append([number, name, "第三针", "2022-01-10", "北京科兴", "南沙区疾控中心"])  # 1 and 2 implied
    lines = ["身份证号码,姓名,采样时间,检测时间,检测结果,采样点"]
    for number, name, sampled, result in nat:
        tested = "" if result == "未出结果" else _stamp(sampled + timedelta(minutes=10))
        lines.append(f"{number},{name},{_stamp(sampled)},{tested},{result},南沙街社区卫生服务中心采样点")
    _upload(base, admin, "nat", "e2e-stats.csv", ("\r\n".join(lines) + "\r\n").encode())
    book = openpyxl.Workbook()
    book.active.append(["身份证号码", "姓名", "剂次", "接种日期", "疫苗产品/厂家", "接种单位"])
    for row in doses:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    _upload(base, admin, "vaccine", "e2e-stats.xlsx", buffer.getvalue())
    # the read model behind the tables is brought up to date after each file
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        files = [f for f in api_json(base, "/api/feeds?kind=vaccine", admin)["items"] if "e2e-stats" in f["filename"]]
        if files and files[0]["status"] != "running":
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"the vaccination file was not read: {files}")
    done = datetime.fromisoformat(files[0]["finished_at"])
    while time.monotonic() < deadline:
        nat_now = _get(base, "/api/stats/nat", town, **period)["total"]["samples"]
        vax = _get(base, "/api/stats/vaccine", town, category="express")
        vax_now = vax["total"]["doses"][0]["vaccinated"]
        if nat_now > before_nat and (vax_now > before_vax or datetime.fromisoformat(vax["as_of"]) >= done):
            return
        time.sleep(0.3)
    raise AssertionError(f"the statistics never counted the feed: {before_nat} → {nat_now}, {before_vax} → {vax_now}")


def _nat_row_cells(row):
    return [str(row[k]) for k in NAT_KEYS]


def _wait_table(page, test_id):
    page.locator(f"[data-test={test_id}] .el-table__body-wrapper tbody tr").first.wait_for()
    page.wait_for_function(f"() => !document.querySelector('[data-test={test_id}] .el-loading-mask')")


def _towns(page, test_id):
    return page.evaluate(_TABLE, [f"[data-test={test_id}]", 0])


def _assert_nat_table_is(page, table):
    """The town rows and 合计 on screen are the API's, number for number."""
    shown = _towns(page, "nat-stats-table")
    expected = [[r["town"], "", *_nat_row_cells(r)] for r in table["rows"]]
    expected.append(["合计", "", *_nat_row_cells(table["total"])])
    assert shown == expected, (shown, expected)


def _drill(page, cell, *, expect_download, tmp_path, name):
    """Click a number; the dialog lists as many as it says; 下载 hands out all of them, full values, with
    the dialog's columns, under `name`."""
    count = int(cell.inner_text().strip())
    cell.click()
    dialog = page.locator("[data-test=stats-people-dialog]")
    dialog.locator("[data-test=stats-people-table] .el-table__body-wrapper tbody tr").first.wait_for()
    page.wait_for_function("() => !document.querySelector('[data-test=stats-people-table] .el-loading-mask')")
    total = dialog.locator("[data-test=stats-people-total]").inner_text()
    assert re.match(rf"共 {count} (人|家企业)", total), (total, count)
    shown = dialog.locator("[data-test=stats-people-table] .el-table__body-wrapper tbody tr")
    assert shown.count() == min(count, 20)
    texts = shown.all_inner_texts()
    assert all("*" in t for t in texts)  # masked by the server
    rows = None
    if expect_download:
        with page.expect_download(timeout=60_000) as got:
            dialog.get_by_role("button", name="下载").click()
        assert got.value.suggested_filename == name, got.value.suggested_filename
        path = tmp_path / name
        got.value.save_as(path)
        rows = list(openpyxl.load_workbook(path).active.iter_rows(values_only=True))
        head = next(i for i, r in enumerate(rows) if r and r[0] == "企业名称")
        screen = [h for h in page.evaluate(_HEADERS, "[data-test=stats-people-table]") if h]
        assert list(rows[head]) == screen, (rows[head], screen)  # the download has the screen's columns
        rows = [r for r in rows[head + 1:] if any(r)]
        assert len(rows) == count, (len(rows), count)
        assert all("*" not in str(r[4]) and len(str(r[4])) == 18 for r in rows)  # 身份证号码 in full
    return count, texts, rows


def _registration_moves_the_statistics_time(page, base, token, before, as_of):
    """Issue 22: 统计时间 stayed put after a registration changed the table. An enterprise registered in
    南沙街 changes 主体数量; the open page takes the new numbers and their time when it looks again (every
    half minute, and at once when the window comes back into focus), without a reload."""
    admin = _login(base, "admin")
    ent = api_json(base, "/api/enterprises", admin, body={
        "category": "express", "name": "统计时间验证驿站", "town": "南沙街", "grid": "", "head_name": "林晓东",
        "head_phone": "13700002201", "address": "广州市南沙区进港大道2号", "extra": {}})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = _get(base, "/api/stats/vaccine", token, category="express")
        if after["total"]["enterprises"] == before["total"]["enterprises"] + 1:
            break
        time.sleep(0.3)
    else:
        raise AssertionError(f"the new enterprise never reached the statistics: {after['total']}")
    assert datetime.fromisoformat(after["as_of"]) > datetime.fromisoformat(before["as_of"]), (before["as_of"], after["as_of"])
    _focus_until(page, "(t) => document.querySelector('[data-test=vaccine-as-of]').innerText !== t", as_of)
    shown = page.locator("[data-test=vaccine-as-of]").inner_text()
    assert shown == f"统计时间: {datetime.fromisoformat(after['as_of']).astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}", shown
    assert _towns(page, "vaccine-stats-table")[-1][1] == str(after["total"]["enterprises"])
    # gone again, so the later flows see the district as it was
    request = urllib.request.Request(f"{base}/api/enterprises/batch-delete", method="POST",
                                     data=json.dumps({"ids": [ent["id"]], "confirm_staff": True}).encode(),
                                     headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        assert json.load(answer)["deleted"] == 1
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        current = _get(base, "/api/stats/vaccine", token, category="express")
        if current["total"]["enterprises"] == before["total"]["enterprises"]:
            break
        time.sleep(0.3)
    _focus_until(page, "(n) => [...document.querySelectorAll('[data-test=vaccine-stats-table] tbody tr')].pop()"
                       ".children[1].innerText.trim() === n", str(current["total"]["enterprises"]))
    return current


def _focus_until(page, condition: str, arg) -> None:
    """The window comes back into view (a focus event) until the page shows what `condition` waits for.
    Once is not always enough: each of the API's processes trusts its copy of the statistics for 5 s
    (ROSTER_FRESH_SECONDS), so the page's look may reach one that has not read the rebuilt file yet."""
    deadline = time.monotonic() + 30
    while True:
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        try:
            page.wait_for_function(condition, arg=arg, timeout=3000)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise AssertionError(f"not shown within 30 s ({arg!r}): {page.locator('body').inner_text()[-600:]}")


def _fits(page, selector, *, width):
    m = page.evaluate(_FITS, selector)
    assert m["pageScroll"] <= 1 and m["mainScroll"] <= 1, m
    assert m["left"] >= -1 and m["right"] <= width + 1, m
    return m


def _to_bottom(page):
    page.evaluate("document.querySelector('.el-main').scrollTop = 100000")
    page.wait_for_timeout(300)


def test_town_reads_nat_and_vaccine_statistics(system, browser, shot, tmp_path):
    _feed_nansha_express(system)
    token = _login(system, "nanshajie")
    page = browser.new_page(viewport=DESKTOP, accept_downloads=True)
    console_login(page, system, "nanshajie", ready="[data-test=menu-ledger]")

    # the ledger: 查看核酸 / 疫苗接种 / 查看详情 on each row, every column still on screen
    page.goto(f"{system}/#/ledger/express")
    _wait_table(page, "ledger-table")
    heads = page.evaluate(_HEADERS, "[data-test=ledger-table]")
    assert [h for h in heads if h] == LEDGER_HEADERS, heads
    scroll = page.evaluate("""() => { const w = document.querySelector('[data-test=ledger-table] .el-table__body-wrapper .el-scrollbar__wrap')
      return w.scrollWidth - w.clientWidth }""")
    assert scroll <= 1, f"the ledger scrolls sideways by {scroll} px"
    first = page.locator("[data-test=ledger-table] .el-table__body-wrapper tbody tr").first
    buttons = [first.get_by_role("button", name=n) for n in ("查看核酸", "疫苗接种", "查看详情")]
    for b in buttons:
        box = b.bounding_box()
        assert box and box["x"] + box["width"] <= DESKTOP["width"], box
    # a person the feed sampled: 查看核酸 lists the sample
    sampled = next(r for r in _get(system, "/api/ledger", token, category="express")["items"]  # the first page
                   if r["health"].get("last_sampled_at"))
    sampled_day = datetime.fromisoformat(sampled["health"]["last_sampled_at"]).astimezone(SHANGHAI).strftime("%Y-%m-%d")
    # by the masked ID number: the demo district repeats names
    row = page.locator("[data-test=ledger-table] .el-table__body-wrapper tbody tr", has_text=sampled["id_number"]).first
    # 最近一次核酸检测时间 is the sampling time (the feed reported each result ten minutes later)
    sampled_at = datetime.fromisoformat(sampled["health"]["last_sampled_at"]).astimezone(SHANGHAI)
    column = heads.index("最近一次核酸检测时间")
    cell = row.locator("td").nth(column).inner_text().split()
    assert cell == [f"{sampled_at:%Y-%m-%d}", f"{sampled_at:%H:%M}"], cell
    shot(page, "59-ledger-town-1440")
    row.get_by_role("button", name="查看核酸").click()
    nat_dialog = page.locator("[data-test=ledger-nat-dialog]")
    nat_dialog.locator("[data-test=ledger-detail-nat] .el-table__body-wrapper tbody tr").first.wait_for()
    assert sampled_day in nat_dialog.locator("[data-test=ledger-detail-nat]").inner_text()
    assert nat_dialog.locator("[data-test=ledger-detail-vaccine]").count() == 0  # its own dialog
    shot(page, "60-ledger-nat-dialog-1440")
    nat_dialog.get_by_role("button", name="关闭", exact=True).click()
    nat_dialog.wait_for(state="hidden")
    row.get_by_role("button", name="疫苗接种").click()
    vax_dialog = page.locator("[data-test=ledger-vaccine-dialog]")
    vax_dialog.locator("[data-test=ledger-detail-vaccine]").wait_for()
    page.wait_for_function("() => !document.querySelector('[data-test=ledger-vaccine-dialog] .el-loading-mask')")
    health = api_json(system, f"/api/health/{urllib.parse.quote(sampled['id'])}", token)
    vax_text = vax_dialog.locator("[data-test=ledger-detail-vaccine]").inner_text()
    for dose in health["vaccine"]:
        assert dose["vaccinated_on"] in vax_text  # implied doses as the API gives them (已接种（日期不详）)
    if not health["vaccine"]:
        assert "暂无疫苗接种记录" in vax_text
    assert vax_dialog.locator("[data-test=ledger-detail-nat]").count() == 0
    shot(page, "61-ledger-vaccine-dialog-1440")
    vax_dialog.get_by_role("button", name="关闭", exact=True).click()
    vax_dialog.wait_for(state="hidden")

    # 核酸数据统计 from the ledger: today by default, 南沙街 only, the API's numbers
    page.get_by_role("button", name="核酸数据统计").click()
    page.wait_for_url(re.compile(r"#/stats/nat/express$"))
    _wait_table(page, "nat-stats-table")
    assert page.evaluate(_HEADERS, "[data-test=nat-stats-table]") == NAT_HEADERS
    today = _get(system, "/api/stats/nat", token, category="express", **_period(0))
    _assert_nat_table_is(page, today)
    assert [r["town"] for r in today["rows"]] == ["南沙街"]
    assert page.locator("[data-test=nat-period-text]").inner_text().endswith(f"{_day()} 00:00 至 {_day()} 23:59")
    assert re.search(r"数据截至：\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", page.locator("[data-test=nat-as-of]").inner_text())
    definitions = page.locator("[data-test=nat-definition]").all_inner_texts()
    assert definitions == today["definitions"], definitions
    assert page.locator("[data-test=nat-chart-towns] canvas").count() == 1
    assert page.locator("[data-test=nat-chart-daily] canvas").count() == 1

    # the period: 近3天 from the picker's shortcuts, then 查询
    page.locator(".period-picker").click()
    page.locator(".el-picker-panel__shortcut", has_text="近3天").click()
    page.wait_for_timeout(300)
    if page.locator(".el-picker-panel__footer").first.is_visible():
        page.locator(".el-picker-panel__footer").get_by_role("button", name="确定").click()
    with page.expect_response(lambda r: "/api/stats/nat?" in r.url) as answered:
        page.get_by_role("button", name="查询").click()
    query = urllib.parse.parse_qs(urllib.parse.urlparse(answered.value.url).query)
    assert query["start"] == [f"{_day(-2)}T00:00"] and query["end"] == [f"{_day()}T23:59"], query
    _wait_table(page, "nat-stats-table")
    three_days = _get(system, "/api/stats/nat", token, category="express", **_period(2))
    _assert_nat_table_is(page, three_days)
    assert three_days["total"]["samples"] > today["total"]["samples"]  # the feed's earlier samples count now
    assert three_days["total"]["positive"] >= 1 and three_days["total"]["pending"] >= 1
    # 南沙街 opens into its 人员类别 rows
    page.locator("[data-test=nat-stats-table] .el-table__expand-icon").first.click()
    page.wait_for_timeout(300)
    children = page.evaluate(_TABLE, ["[data-test=nat-stats-table]", 1])
    assert [c[1] for c in children] == [c["person_category"] for c in three_days["rows"][0]["children"]]
    assert [c[2:] for c in children] == [_nat_row_cells(c) for c in three_days["rows"][0]["children"]]
    shot(page, "62-nat-stats-town-1440")
    _to_bottom(page)
    shot(page, "63-nat-stats-town-charts-1440")

    # a number: 南沙街's 核酸检测人数 for the three days, its people, 下载
    cell = page.locator("[data-test=nat-stats-table] tr.town-row").first.locator(
        "[data-test=nat-cell-tested]")
    count, texts, rows = _drill(page, cell, expect_download=True, tmp_path=tmp_path,
                                name=f"快递物流核酸检测人数明细（南沙街，{_day()}）.xlsx")
    assert count == three_days["rows"][0]["tested"]
    people = _get(system, "/api/stats/nat/people", token, category="express", town="南沙街", measure="tested",
                  page_size=100, **_period(2))
    assert people["total"] == count and all(p["samples"] >= 1 for p in people["items"])
    assert {r[1] for r in rows} == {p["name"] for p in people["items"]}
    by_person = {(p["name"], p["id_number"][-4:]): p for p in people["items"]}  # the demo district repeats names
    for r in rows:  # 人员类别, the sampling time and 期间检测次数 (a number) as the dialog shows them
        shown = by_person[(r[1], r[4][-4:])]
        sampled_at = datetime.fromisoformat(shown["health"]["last_sampled_at"]).astimezone(SHANGHAI)
        assert (r[5], r[7], r[8]) == (shown["person_category"], f"{sampled_at:%Y-%m-%d %H:%M}", shown["samples"]), r
    dialog = page.locator("[data-test=stats-people-dialog]")
    assert "期间检测次数" in dialog.locator(".el-table__header-wrapper").inner_text().replace("\n", "")
    shot(page, "64-nat-people-dialog-1440")
    dialog.get_by_role("button", name="关闭", exact=True).click()
    dialog.wait_for(state="hidden")
    # 合计's 未核酸检测人数: the people without a sample in the period
    total_row = page.locator("[data-test=nat-stats-table] tr.total-row")
    untested = total_row.locator("[data-test=nat-cell-untested]")
    if untested.count():
        count, _, _ = _drill(page, untested, expect_download=False, tmp_path=tmp_path, name="-")
        assert count == three_days["total"]["untested"]
        dialog.get_by_role("button", name="关闭", exact=True).click()
        dialog.wait_for(state="hidden")

    # 导出: the table as on screen
    with page.expect_download() as got:
        page.get_by_role("button", name="导出").click()
    assert got.value.suggested_filename == f"快递物流核酸检测情况（南沙街，{_day()}）.xlsx"
    path = tmp_path / "核酸检测情况.xlsx"
    got.value.save_as(path)
    cells = [[c for c in r] for r in openpyxl.load_workbook(path).active.iter_rows(values_only=True)]
    flat = json.dumps(cells, ensure_ascii=False, default=str)
    assert "核酸检测情况" in flat and f"{_day(-2)} 00:00" in flat
    town_row = next(r for r in cells if r and r[0] == "南沙街")
    assert three_days["rows"][0]["tested"] in town_row or str(three_days["rows"][0]["tested"]) in map(str, town_row)
    assert any(r and r[0] == "合计" for r in cells)

    # 疫苗数据统计 from the ledger: 统计时间 under the table, a number's people
    page.get_by_role("button", name=re.compile("返回快递物流哨点人员")).click()
    _wait_table(page, "ledger-table")
    page.get_by_role("button", name="疫苗数据统计").click()
    page.wait_for_url(re.compile(r"#/stats/vaccine/express$"))
    _wait_table(page, "vaccine-stats-table")
    vax = _get(system, "/api/stats/vaccine", token, category="express")
    heads = page.evaluate(_HEADERS, "[data-test=vaccine-stats-table]")
    for label in ["所属镇街", "主体数量", "工作人员数量", "第一针", "第二针", "第三针", "可接种人数", "接种人数", "完成率"]:
        assert label in heads, (label, heads)
    shown = _towns(page, "vaccine-stats-table")

    def vax_cells(r):
        return [r["town"], str(r["enterprises"]), str(r["staff"]),
                *[str(d[k]) for d in r["doses"] for k in ("eligible", "vaccinated", "rate")]]

    assert shown == [vax_cells(r) for r in vax["rows"]] + [vax_cells({**vax["total"], "town": "合计"})], shown
    as_of = page.locator("[data-test=vaccine-as-of]").inner_text()
    assert re.fullmatch(r"统计时间: \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", as_of), as_of
    vax = _registration_moves_the_statistics_time(page, system, token, vax, as_of)
    assert page.locator("[data-test=vaccine-definition]").all_inner_texts() == vax["definitions"]
    assert page.locator("[data-test=vaccine-chart-towns] canvas").count() == 1
    shot(page, "65-vaccine-stats-town-1440")
    cell = page.locator("[data-test=vaccine-stats-table] .el-table__body-wrapper tbody tr").first.locator(
        "[data-test=vaccine-cell-dose1_vaccinated]")
    count, _, rows = _drill(page, cell, expect_download=True, tmp_path=tmp_path,
                            name=f"快递物流第一针接种人数明细（南沙街，{_day()}）.xlsx")
    assert count == vax["rows"][0]["doses"][0]["vaccinated"]
    shot(page, "66-vaccine-people-dialog-1440")
    dialog.get_by_role("button", name="关闭", exact=True).click()
    dialog.wait_for(state="hidden")
    # 主体数量: the enterprises
    cell = page.locator("[data-test=vaccine-stats-table] .el-table__body-wrapper tbody tr").first.locator(
        "[data-test=vaccine-cell-enterprises]")
    count, texts, _ = _drill(page, cell, expect_download=False, tmp_path=tmp_path, name="-")
    assert count == vax["rows"][0]["enterprises"]
    assert "负责人电话" in dialog.locator(".el-table__header-wrapper").inner_text()
    dialog.get_by_role("button", name="关闭", exact=True).click()
    dialog.wait_for(state="hidden")
    with page.expect_download() as got:
        page.get_by_role("button", name="导出").click()
    assert got.value.suggested_filename == f"快递物流疫苗接种情况（南沙街，{_day()}）.xlsx"
    _to_bottom(page)
    shot(page, "67-vaccine-stats-town-chart-1440")
    page.close()

    # the same pages on a phone: nothing off the screen, the tables scroll inside their box
    phone = browser.new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    console_login(phone, system, "nanshajie", ready="[data-test=current-user]")
    phone.goto(f"{system}/#/stats/nat/express")
    _wait_table(phone, "nat-stats-table")
    _fits(phone, "[data-test=nat-stats-table]", width=PHONE["width"])
    for selector in (".period-picker", "[data-test=nat-search]", "[data-test=nat-export]"):
        box = phone.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, (selector, box)
    shot(phone, "68-nat-stats-town-390")
    _to_bottom(phone)
    shot(phone, "69-nat-stats-town-charts-390")
    phone.evaluate("document.querySelector('.el-main').scrollTop = 0")
    phone.locator("[data-test=nat-stats-table] tr.town-row [data-test=nat-cell-people]").first.click()
    phone.locator("[data-test=stats-people-table] .el-table__body-wrapper tbody tr").first.wait_for()
    box = phone.locator("[data-test=stats-people-dialog]").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, box
    shot(phone, "70-nat-people-dialog-390")
    phone.keyboard.press("Escape")
    phone.goto(f"{system}/#/stats/vaccine/express")
    _wait_table(phone, "vaccine-stats-table")
    _fits(phone, "[data-test=vaccine-stats-table]", width=PHONE["width"])
    shot(phone, "71-vaccine-stats-town-390")
    phone.locator("[data-test=menu-toggle]").click()  # the menu slides in over the page
    phone.get_by_role("menuitem", name="企业信息采集").wait_for()
    shot(phone, "72-console-menu-390")
    phone.close()


def test_bureau_sees_its_categories_across_towns(system, browser, shot):
    """委办局 (区邮政管理局, 快递物流) for the same period: every town with express enterprises, not 南沙街 only."""
    town_token, bureau_token = _login(system, "nanshajie"), _login(system, "youzheng")
    period = _period(2)
    town_table = _get(system, "/api/stats/nat", town_token, category="express", **period)
    table = _get(system, "/api/stats/nat", bureau_token, category="express", **period)
    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "youzheng")
    page.goto(f"{system}/#/ledger/express")
    _wait_table(page, "ledger-table")
    page.get_by_role("button", name="核酸数据统计").click()
    _wait_table(page, "nat-stats-table")
    page.locator(".period-picker").click()
    page.locator(".el-picker-panel__shortcut", has_text="近3天").click()
    page.wait_for_timeout(300)
    if page.locator(".el-picker-panel__footer").first.is_visible():
        page.locator(".el-picker-panel__footer").get_by_role("button", name="确定").click()
    page.get_by_role("button", name="查询").click()
    page.wait_for_function(f"""() => document.querySelector('[data-test=nat-period-text]').innerText
      .includes('{_day(-2)} 00:00')""")
    _wait_table(page, "nat-stats-table")
    _assert_nat_table_is(page, table)
    towns = [r["town"] for r in table["rows"]]
    assert len(towns) > 1 and "南沙街" in towns, towns
    assert towns != [r["town"] for r in town_table["rows"]]
    # 南沙街's row is the town's own 合计: the same people, seen from the bureau
    nansha = next(r for r in table["rows"] if r["town"] == "南沙街")
    assert nansha["people"] == town_table["total"]["people"] and nansha["tested"] == town_table["total"]["tested"]
    assert page.locator("[data-test=stats-category]").count() == 0  # one category: nothing to choose
    shot(page, "73-nat-stats-bureau-1440")
    # a town's number on the bureau's table
    cell = page.locator("[data-test=nat-stats-table] tr.total-row [data-test=nat-cell-people]")
    count = int(cell.inner_text())
    cell.click()
    total = page.locator("[data-test=stats-people-total]")
    total.wait_for()
    page.wait_for_function(f"() => document.querySelector('[data-test=stats-people-total]').innerText.startsWith('共 {count} 人')")
    page.keyboard.press("Escape")
    page.goto(f"{system}/#/stats/vaccine/express")
    _wait_table(page, "vaccine-stats-table")
    vax = _get(system, "/api/stats/vaccine", bureau_token, category="express")
    assert [r[0] for r in _towns(page, "vaccine-stats-table")] == [r["town"] for r in vax["rows"]] + ["合计"]
    shot(page, "74-vaccine-stats-bureau-1440")
    page.close()


def test_taskforce_chooses_all_categories(system, browser):
    """专班 (and 运维) have 全部类别 in the category select; the others their ledger categories."""
    token = _login(system, "zhuanban")
    page = browser.new_page(viewport=DESKTOP)
    console_login(page, system, "zhuanban", ready="[data-test=menu-ledger]")
    page.goto(f"{system}/#/stats/nat/express")
    _wait_table(page, "nat-stats-table")
    page.locator("[data-test=stats-category]").click()
    page.locator(".el-select-dropdown__item", has_text="全部类别").click()
    page.wait_for_url(re.compile(r"#/stats/nat/all$"))
    _wait_table(page, "nat-stats-table")
    everything = _get(system, "/api/stats/nat", token, category="all", **_period(0))
    _assert_nat_table_is(page, everything)
    assert page.locator("[data-test=stats-category-name]").inner_text() == "全部类别"
    page.goto(f"{system}/#/stats/vaccine/all")
    _wait_table(page, "vaccine-stats-table")
    vax = _get(system, "/api/stats/vaccine", token, category="all")
    assert _towns(page, "vaccine-stats-table")[-1][:3] == ["合计", str(vax["total"]["enterprises"]),
                                                          str(vax["total"]["staff"])]
    page.close()
