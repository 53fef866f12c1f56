"""Routes: /api/alerts (告警记录, 推送记录 and its corrections, 专班 and 运维 recipients, picking and
testing 粤政易 recipients; §2.6) and the head's own list of today's non-compliant staff
(/api/dashboard/shortfalls)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.api import params as forms
from chalicelib.api.common import int_param, json_body, json_response, query_params, route
from chalicelib.services.compliance import push_records, recipients, records, settings
from chalicelib.services.jobs import exports
from chalicelib.services.registry.staff import MAX_PAGE_SIZE

bp = Blueprint(__name__)


def _params() -> dict[str, str]:
    return {k: v.strip() for k, v in query_params(bp).items()}


def _paging(params: dict) -> dict:
    return {"page": int_param(params, "page", 1, high=100_000),
            "page_size": int_param(params, "page_size", 20, high=MAX_PAGE_SIZE)}


def _push_item_body() -> dict:
    """重试 / 标记 name a push record in the body: the attachment's query rule (api/params.py) applies."""
    body = json_body(bp)
    forms.check_body(body, item="item")
    return body


def _body_or_params() -> dict:
    raw = bp.current_request.raw_body
    return json_body(bp) if raw else _params()


@route(bp, "GET", "/api/alerts/runs")
def list_runs(principal):
    return records.runs(principal)


@route(bp, "GET", "/api/alerts/runs/{day}")
def run_detail(principal, day):
    return records.run_detail(principal, day)


@route(bp, "GET", "/api/alerts/runs/{day}/people")
def run_people(principal, day):
    params = _params()
    return records.people(principal, day, category=params.get("category", ""), town=params.get("town", ""),
                          **_paging(params))


@route(bp, "POST", "/api/alerts/runs/{day}/people/export")
def run_people_export(principal, day):
    return json_response(exports.public(principal, records.start_people_export(principal, day, _body_or_params())), 202)


@route(bp, "POST", "/api/alerts/runs/{day}/start")
def start_run(principal, day):
    return json_response(records.start_run(principal, day), 202)


@route(bp, "GET", "/api/alerts/pushes")
def list_pushes(principal):
    return push_records.pushes(principal, _params().get("day", ""))


@route(bp, "POST", "/api/alerts/pushes/{day}/start")
def start_push(principal, day):
    return json_response(push_records.start_push(principal, day), 202)


@route(bp, "POST", "/api/alerts/pushes/{day}/corrections")
def push_corrections(principal, day):
    return json_response(push_records.start_corrections(principal, day), 202)


@route(bp, "POST", "/api/alerts/pushes/{day}/retry")
def retry_push(principal, day):
    return push_records.retry(principal, day, _push_item_body())


@route(bp, "POST", "/api/alerts/pushes/{day}/resolve")
def resolve_push(principal, day):
    return push_records.resolve(principal, day, _push_item_body())


@route(bp, "GET", "/api/alerts/pushes/{day}/attachment")
def push_attachment(principal, day):
    return push_records.attachment(principal, day, _params())


@route(bp, "GET", "/api/alerts/taskforce")
def get_taskforce(principal):
    return settings.taskforce_get(principal)


@route(bp, "PUT", "/api/alerts/taskforce")
def put_taskforce(principal):
    return settings.taskforce_update(principal, json_body(bp))


@route(bp, "GET", "/api/alerts/ops-recipients")
def get_ops_recipients(principal):
    return settings.ops_get(principal)


@route(bp, "PUT", "/api/alerts/ops-recipients")
def put_ops_recipients(principal):
    return settings.ops_update(principal, json_body(bp))


@route(bp, "GET", "/api/alerts/recipients/options")
def recipient_options(principal):
    return recipients.options(principal)


@route(bp, "POST", "/api/alerts/recipients/test")
def recipient_test(principal):
    return recipients.send_test(principal, json_body(bp))


@route(bp, "GET", "/api/dashboard/shortfalls")
def head_shortfalls(principal):
    params = _params()
    return records.head_shortfalls(principal, enterprise_id=params.get("enterprise_id", ""), **_paging(params))
