"""Routes: /api/stats (核酸数据统计, 疫苗数据统计, §2.4.1) — the tables, the people behind each number,
and their exports."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api.common import int_param, json_response, query_params, route, xlsx_response
from chalicelib.services.identity import audit
from chalicelib.services.jobs import exports
from chalicelib.services.stats import downloads, nat, vaccine
from chalicelib.services.stats.common import category_name
from chalicelib.services.registry.staff import MAX_PAGE_SIZE
from chalicelib.workbooks import filenames, stats_book

bp = Blueprint(__name__)


def _params() -> dict[str, str]:
    return {k: v.strip() for k, v in query_params(bp).items()}


def _paging(params: dict) -> dict:
    return {"page": int_param(params, "page", 1, high=100_000), "page_size": int_param(params, "page_size", 20,
                                                                                        high=MAX_PAGE_SIZE)}


def _filename(principal, table: dict, what: str) -> str:
    """快递物流核酸检测情况（南沙街，2026-12-08）.xlsx: the table's category, the caller's town, today."""
    return filenames.dated(f"{table['category_name']}{what}", filenames.where(principal.town, "", principal.scope.area))


def _nat_args(params: dict) -> dict:
    return {"category": params.get("category", ""), "start": params.get("start", ""), "end": params.get("end", "")}


@route(bp, "GET", "/api/stats/nat")
def nat_table(principal):
    return nat.table(principal, **_nat_args(_params()))


@route(bp, "GET", "/api/stats/nat/people")
def nat_people(principal):
    params = _params()
    return nat.people(principal, **_nat_args(params), town=params.get("town", ""),
                      person_category=params.get("person_category", ""), measure=params.get("measure", ""),
                      **_paging(params))


@route(bp, "GET", "/api/stats/nat/export")
def nat_export(principal):
    table = nat.table(principal, **_nat_args(_params()))
    audit.record(principal, action="导出核酸数据统计", scope=f"{table['category_name']} {table['start'][:16]} - {table['end'][:16]}",
                 rows=len(table["rows"]))
    return xlsx_response(stats_book.nat_table(table), _filename(principal, table, "核酸检测情况"))


@route(bp, "POST", "/api/stats/nat/people/export")
def nat_people_export(principal):
    return json_response(exports.public(principal, downloads.start_nat(principal, _params())), 202)


@route(bp, "GET", "/api/stats/vaccine")
def vaccine_table(principal):
    return vaccine.table(principal, category=_params().get("category", ""))


@route(bp, "GET", "/api/stats/vaccine/people")
def vaccine_people(principal):
    params = _params()
    return vaccine.people(principal, category=params.get("category", ""), town=params.get("town", ""),
                          measure=params.get("measure", ""), **_paging(params))


@route(bp, "GET", "/api/stats/vaccine/export")
def vaccine_export(principal):
    category = _params().get("category", "")
    table = vaccine.table(principal, category=category)
    audit.record(principal, action="导出疫苗数据统计", scope=category_name(category), rows=len(table["rows"]))
    return xlsx_response(stats_book.vaccine_table(table), _filename(principal, table, "疫苗接种情况"))


@route(bp, "POST", "/api/stats/vaccine/people/export")
def vaccine_people_export(principal):
    return json_response(exports.public(principal, downloads.start_vaccine(principal, _params())), 202)
