"""The drill-down lists as workbooks with full values and the columns their dialog shows (企业名称 … 人员类别,
then the NAT or vaccination columns; 主体数量's enterprises in 企业信息采集's export layout), built as export
jobs (services/jobs/exports.py): a number may count a whole district's people. Each file is named by what
it lists, whose and the day (快递物流未核酸检测人数明细（南沙街，2026-12-08）.xlsx)."""
from __future__ import annotations

from chalicelib.services.identity.auth import Principal
from chalicelib.services.jobs import exports
from chalicelib.services.stats import common, nat, vaccine
from chalicelib.services.registry import enterprises
from chalicelib.store.models import Enterprise
from chalicelib.workbooks import enterprise_book, filenames, staff_book

NAT_KEYS = ("category", "start", "end", "town", "person_category", "measure")
VACCINE_KEYS = ("category", "town", "measure")


def start_nat(principal: Principal, params: dict):
    nat.selection(principal, **_only(params, NAT_KEYS))  # refused now if out of scope or malformed
    return exports.start(principal, NAT_EXPORT, _only(params, NAT_KEYS))


def start_vaccine(principal: Principal, params: dict):
    args = _only(params, VACCINE_KEYS)
    if args["measure"] == "enterprises":  # 主体数量: the enterprises, as 企业信息采集 exports them
        common.parts_for(principal, args["category"], args["town"])
    else:
        vaccine.selection(principal, **args)
    return exports.start(principal, VACCINE_EXPORT, args)


def _only(params: dict, keys) -> dict:
    return {k: params.get(k, "") for k in keys}


def _everyone(kind: str, selected, extra=None) -> tuple[bytes, int]:
    size = max(1, sum(int(mask.sum()) for _, mask in selected))
    rows, _ = common.page_of(selected, page=1, page_size=size, extra=extra, full=True)
    return staff_book.stats_people(kind, rows), len(rows)


def _build_nat(principal: Principal, params: dict) -> tuple[bytes, int]:
    return _everyone("nat", *nat.selection(principal, **_only(params, NAT_KEYS)))


def _build_vaccine(principal: Principal, params: dict) -> tuple[bytes, int]:
    args = _only(params, VACCINE_KEYS)
    if args["measure"] == "enterprises":
        ids = [e for part in common.parts_for(principal, args["category"], args["town"]) for e in part.enterprises]
        found = Enterprise.batch_get(ids) if ids else []
        rows = [enterprises.public(e, full_phone=True) for e in found]
        return enterprise_book.export(rows), len(rows)
    return _everyone("vaccine", vaccine.selection(principal, **args))


def _scope(labels: dict):
    def scope(principal: Principal, params: dict) -> str:
        return " ".join(x for x in (common.category_name(params.get("category", "")), params.get("town") or "全部镇街",
                                    params.get("person_category", ""), labels.get(params.get("measure", ""), "")) if x)
    return scope


def _filename(labels: dict):
    def name(principal: Principal, params: dict) -> str:
        title = f"{common.category_name(params.get('category', ''))}{labels.get(params.get('measure', ''), '')}明细"
        return filenames.dated(title, filenames.where(principal.town, params.get("town", ""), principal.scope.area),
                               params.get("person_category", ""))
    return name


NAT_EXPORT = exports.Export("stats-nat", filename=_filename(nat.MEASURE_LABELS), action="导出核酸统计人员明细",
                            build=_build_nat, scope=_scope(nat.MEASURE_LABELS))
VACCINE_EXPORT = exports.Export("stats-vaccine", filename=_filename(vaccine.MEASURE_LABELS),
                                action="导出疫苗统计人员明细", build=_build_vaccine, scope=_scope(vaccine.MEASURE_LABELS))
