"""A generated demo district: accounts of every role, a few dozen enterprises with heads' phones, their
staff, 告警设置 with 粤政易 recipients, and (`morning`) the day's overnight run and 09:00 push, so the
first start shows a real morning in 告警记录, 推送记录, the stand-in's outbox and the head's phone.
Names and addresses are invented from common parts; they describe no real person or business."""
from __future__ import annotations

import io
import random
from datetime import date, timedelta

import openpyxl

from chalicelib.rules import catalog, geography
from chalicelib.rules.clock import SHANGHAI, now
from chalicelib.rules.idnumber import compose
from chalicelib.services.registry import enterprises
from chalicelib.services.feeds import ingest as feeds
from chalicelib.services.health import state as health
from chalicelib.services.common import security
from chalicelib.services.registry import staff
from chalicelib.services.identity.auth import Principal
from chalicelib.services.registry.enterprise_schema import parse_enterprise
from chalicelib.services.registry.staff_schema import StaffIn
from chalicelib.services.search import index as search_index
from chalicelib.services.compliance import night, push
from chalicelib.services.compliance.settings import OPS, TASKFORCE
from chalicelib.store.models import Account, AlertSetting, Recipient, Staff
from chalicelib.store.values import plain

DEMO_PASSWORD = "nansha2026"
DEMO_HEAD_PHONE = "13800138000"

ACCOUNTS = [
    ("admin", "系统运维", "admin", None, []),
    ("youzheng", "区邮政管理局", "bureau", None, ["express"]),
    ("zhujian", "区住房和城乡建设局", "bureau", None, ["construction"]),
    ("shijian", "区市场监督管理局", "bureau", None, ["market", "coldchain"]),
    ("nanshajie", "南沙街道办事处", "town", "南沙街", []),
    ("huangge", "黄阁镇人民政府", "town", "黄阁镇", []),
    ("zhuanban", "哨点监测专班", "taskforce", None, []),
]

def accounts() -> list[tuple]:
    """ACCOUNTS, with their district; when several districts are served (the first district's bureaus
    then oversee the city), each further district's 区专班 and 区邮政管理局: qu2-zhuanban, qu2-youzheng …"""
    rows = [(*row, None) for row in ACCOUNTS]
    for n, district in enumerate(geography.districts()[1:], start=2):
        rows += [(f"qu{n}-zhuanban", f"{district}哨点监测专班", "taskforce", None, [], district),
                 (f"qu{n}-youzheng", f"{district}邮政管理局", "bureau", None, ["express"], district)]
    return rows


WECOM_USERS = {"admin": "yunwei"}  # each demo account's 粤政易 userid (the stand-in's members): its username else

SURNAMES = "陈李黄张梁刘何林罗郭吴周谢冯邓曾彭蔡苏卢"
GIVEN = ["志强", "伟明", "丽华", "海燕", "建国", "晓玲", "国栋", "秀英", "俊杰", "嘉欣", "文辉", "淑芬", "锦荣", "美玲"]
ROADS = ["进港大道", "环市大道", "黄阁大道", "凤凰大道", "双山大道", "蕉门路", "市南路", "金岭北路", "丰泽东路", "海滨路"]
NAMES = {
    "express": ["{p}速递营业部", "{p}快运分拨中心", "{p}物流集散点"],
    "market": ["{p}农贸市场", "{p}肉菜市场"],
    "coldchain": ["{p}冷链仓储", "{p}冻品批发行"],
    "construction": ["{p}建设工程项目部", "{p}安置区施工项目部"],
    "hotel": ["{p}商务酒店", "{p}宾馆"],
    "mall": ["{p}购物广场", "{p}生活超市"],
    "transport": ["{p}客运站", "{p}公交场站"],
    "port": ["{p}港务码头", "{p}集装箱码头"],
}
PLACES = ["金洲", "蕉门", "黄阁", "大岗", "榄核", "横沥", "东涌", "珠江", "龙穴", "万顷沙", "庆盛", "明珠湾", "灵山", "鱼窝头"]


def seed(*, with_feeds: bool = True) -> dict:
    """The demo district; `with_feeds` also drops a NAT and a vaccination file under feeds/ (the worker
    ingests them like any provincial file)."""
    rng = random.Random(2026)
    current = now()
    for username, display, role, town, categories, district in accounts():
        Account(username, display_name=display, role=role, town=town, categories=categories, district=district,
                wecom_userid=WECOM_USERS.get(username, username),
                password_hash=security.hash_password(DEMO_PASSWORD), created_at=current, updated_at=current).save()
    admin = Principal(id="admin", role="admin", display_name="系统运维")
    created = 0
    numbers: list[str] = []
    used: set[tuple[str, str]] = set()
    first, *others = geography.districts()
    towns = [t for t in geography.towns_of(first) if not t.startswith("其他")]
    # 36 enterprises in the first district; 12 more in each further one (`make run DISTRICTS=南沙区,番禺区`)
    plan: list[tuple[int, str | None]] = [(i, None) for i in range(36)]
    plan += [(36 + 12 * n + i, district) for n, district in enumerate(others) for i in range(12)]
    for index, district in plan:
        code = list(NAMES)[index % len(NAMES)]
        if district is None:
            town = "南沙街" if index < 8 and geography.is_town("南沙街") else rng.choice(towns)
        else:
            town = rng.choice([t for t in geography.towns_of(district) if not t.startswith("其他")])
        # a further district's enterprises are named after their town (PLACES are 南沙区's); the draws in
        # this order, so the first district's demo stays as it always was
        pattern = rng.choice(NAMES[code])
        name = pattern.format(p=rng.choice(PLACES) if district is None else town.removesuffix("街").removesuffix("镇"))
        if (town, name) in used:
            name = f"{name}（{index}号）"
        used.add((town, name))
        phone = DEMO_HEAD_PHONE if index in (0, 5) else f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
        extra = {"project_name": f"{rng.choice(PLACES)}片区{rng.choice(['道路', '安置房', '学校', '综合体'])}工程"} \
            if code == "construction" else {}
        values = parse_enterprise({
            "category": code, "name": name, "town": town, "grid": f"{town[:2]}第{rng.randint(1, 12)}网格",
            "head_name": rng.choice(SURNAMES) + rng.choice(GIVEN), "head_phone": phone,
            "address": f"广州市{geography.district_of(town)}{town}{rng.choice(ROADS)}{rng.randint(1, 300)}号",
            "extra": extra})
        ent = enterprises.build(admin, values)
        enterprises.insert(ent)
        created += 1
        numbers += _seed_staff(rng, ent, count=rng.randint(6, 14))
    _alerts()
    if with_feeds:
        feeds.drop("nat", "演示-核酸检测.csv", _nat_feed(rng, numbers))
        feeds.drop("vaccine", "演示-疫苗接种.xlsx", _vaccine_feed(rng, numbers))
    return {"accounts": len(accounts()), "enterprises": created, "staff": len(numbers)}


def _seed_staff(rng: random.Random, ent, *, count: int) -> list[str]:
    """Generated people (valid-looking, invented ID numbers of 南沙区 440115) for one enterprise."""
    keys: list[str] = []
    numbers: list[str] = []
    people: dict[tuple[str, str], Staff] = {}
    with Staff.batch_write() as batch:
        for n in range(count):
            born = date(1965, 1, 1) + timedelta(days=rng.randrange(365 * 38))
            number = compose(born, rng.randrange(1000))
            values = StaffIn(enterprise_id=ent.enterprise_id, name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                             person_category=rng.choice(catalog.PERSON_CATEGORIES[:3]),
                             phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
                             id_number=number,
                             residence_type=rng.choice(catalog.RESIDENCE_TYPES[:4]),
                             address=f"广州市{geography.district_of(ent.town)}{ent.town}{rng.choice(ROADS)}{rng.randint(1, 300)}号",
                             extra={"project_name": plain(ent.extra).get("project_name", "")} if ent.category == "construction" else {})
            stamp = now() - timedelta(days=20, minutes=count - n)  # registered weeks ago: judged by the whole rule
            person = Staff(ent.enterprise_id, staff.person_key(values.id_number), created_at=stamp)
            staff.assign(person, values, ent, stamp=stamp)
            batch.save(person)
            keys.append(person.person_key)
            numbers.append(values.id_number)
            people[(person.enterprise_id, person.person_key)] = person
    staff.adjust_count(ent.enterprise_id, count)
    search_index.sync(people, heads={ent.enterprise_id: ent.head_phone})  # found by name and phone
    health.register(keys)
    return numbers


SITES = ["南沙街社区卫生服务中心采样点", "黄阁镇卫生院采样点", "金洲地铁站便民采样点", "蕉门公园采样点", "万顷沙镇采样点"]


def _nat_feed(rng: random.Random, numbers: list[str]) -> bytes:
    """A provincial NAT file as the province sends it (GBK CSV): most people sampled within a day, some
    two or three days ago, a few longer, some never; strangers; and two rows the report will reject."""
    current = now().astimezone(SHANGHAI).replace(tzinfo=None)
    lines = ["身份证号码,姓名,采样时间,检测时间,检测结果,采样点"]

    def sample(number: str, hours: float) -> None:
        sampled = current - timedelta(hours=hours)
        recent = hours < 6 and rng.random() < 0.3
        tested = "" if recent else f"{sampled + timedelta(hours=rng.uniform(4, 10)):%Y-%m-%d %H:%M:%S}"
        lines.append(f"{number},{rng.choice(SURNAMES) + rng.choice(GIVEN)},{sampled:%Y-%m-%d %H:%M:%S},{tested},"
                     f"{'未出结果' if recent else '阴性'},{rng.choice(SITES)}")

    for number in numbers:
        draw = rng.random()
        ages = ([rng.uniform(0.5, 24)] if draw < 0.7 else [rng.uniform(24.5, 48)] if draw < 0.8 else
                [rng.uniform(48.5, 72)] if draw < 0.87 else [rng.uniform(80, 24 * 12)] if draw < 0.93 else [])
        for age in ages:
            sample(number, age)
            for _ in range(rng.randint(0, 3)):  # earlier samples: the person page's last 7 days
                sample(number, age + rng.uniform(24, 24 * 6))
    for _ in range(40):  # people no enterprise registered (kept 14 days for a late registration)
        born = date(1970, 1, 1) + timedelta(days=rng.randrange(365 * 30))
        sample(compose(born, rng.randrange(1000)), rng.uniform(1, 60))
    lines.append(f"440115199001011234,校验位错误,{current - timedelta(hours=3):%Y-%m-%d %H:%M:%S},,阴性,{SITES[0]}")
    lines.append(f"{numbers[0]},时间错误,2026-02-30 10:00:00,,阴性,{SITES[0]}")
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


def _vaccine_feed(rng: random.Random, numbers: list[str]) -> bytes:
    """Vaccinations as an .xlsx: most have two or three doses; some records name only the booster."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["身份证号码", "姓名", "剂次", "接种日期", "疫苗产品/厂家", "接种单位"])
    products = ["北京生物", "北京科兴", "智飞龙科马", "康希诺"]
    for number in numbers:
        draw = rng.random()
        doses = [1, 2, 3] if draw < 0.55 else [1, 2] if draw < 0.8 else [3] if draw < 0.85 else [1] if draw < 0.92 else []
        day = date(2021, 4, 1) + timedelta(days=rng.randrange(200))
        for dose in doses:
            sheet.append([number, rng.choice(SURNAMES) + rng.choice(GIVEN), dose, day.isoformat(), rng.choice(products),
                          rng.choice(["南沙区疾控中心接种点", "黄阁镇卫生院接种点", "南沙街社区卫生服务中心"])])
            day += timedelta(days=rng.randint(28, 240))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ALERTS = {  # category: (rule, recipients as (粤政易 user id, name, town limit)); ids are the stand-in's members
    "express": ("2d1", [("youzheng", "区邮政管理局值班", ""), ("nanshajie", "南沙街道值班", "南沙街")]),
    "construction": ("3d1", [("zhujian", "区住建局值班", "")]),
    "market": ("3d1", [("shijian", "区市场监管局值班", "")]),
    "coldchain": ("1d1", [("shijian", "区市场监管局值班", "")]),
    "hotel": ("3d1", [("huangge", "黄阁镇值班", "黄阁镇")]),
    TASKFORCE: ("-", [("zhuanban", "哨点监测专班", "")]),
    OPS: ("-", [("yunwei", "运维值班", "")]),  # 商场超市, 交通运输, 港口码头 have no recipient: their lists come here
}


def _alerts() -> None:
    current = now()
    for category, (rule, people) in ALERTS.items():
        AlertSetting(category, rule=rule, recipients=[Recipient(user_id=u, name=n, town=t) for u, n, t in people],
                     updated_at=current, updated_by="演示数据").save()


def morning(*, wait_seconds: float = 300, log=print) -> None:
    """Once the demo feeds are in: the night for today (matcher, then the run through the worker), then
    the push — as 运维's buttons would ask, so it is the same path as on AWS."""
    import time

    today = now().astimezone(SHANGHAI).date()
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and not feeds.freshness()["nat"]["data_until"]:
        time.sleep(1)
    night.request(today, by="演示数据")
    while time.monotonic() < deadline:
        run = night.header(today.isoformat())
        if run is not None and run.status in ("done", "failed") and run.generation:
            break
        time.sleep(1)
    push.request(today.isoformat(), by="演示数据")
    log(f"演示：{today} 凌晨检查已运行，09:00 推送已发出（见「告警记录」「推送记录」）")
