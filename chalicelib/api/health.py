"""Routes: the head's home (/api/dashboard), one person's NAT and vaccination records (/api/health),
the operator's 数据接入 (/api/feeds, its 失败队列 /api/dead-letters) and 数据更新至 (/api/freshness)."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import events
from chalicelib.api.common import int_param, json_body, json_response, query_params, route, upload_request
from chalicelib.services.identity import audit
from chalicelib.services.views import dashboard
from chalicelib.services.operations import dead_letters, rotation
from chalicelib.services.feeds import ingest as feeds
from chalicelib.services.health import state as health
from chalicelib.services.views import ledger
from chalicelib.services.registry import staff

bp = Blueprint(__name__)


@route(bp, "GET", "/api/dashboard")
def home(principal):
    body = dashboard.summary(principal, enterprise_id=query_params(bp).get("enterprise_id", ""))
    body["freshness"] = feeds.freshness()
    return body


@route(bp, "GET", "/api/dashboard/people")
def bucket_people(principal):
    params = query_params(bp)
    page, size = int_param(params, "page", 1, high=100_000), int_param(params, "page_size", 20, high=staff.MAX_PAGE_SIZE)
    items, total = dashboard.people(principal, bucket=params.get("bucket", ""), enterprise_id=params.get("enterprise_id", ""),
                                    page=page, page_size=size)
    return {"items": items, "total": total, "page": page, "page_size": size}


@route(bp, "GET", "/api/health/{staff_id}")
def person_health(principal, staff_id):
    """查看核酸 (last 7 days) and 疫苗接种 of one registered person, within the caller's scope."""
    if principal.role == "head":
        person, ent = staff.get(principal, staff_id, audited=False)
        body = staff.public(person, ent, health_state=health.of(health.for_people([person.person_key]), person.person_key))
    else:
        body = ledger.get(principal, staff_id, audited=False)
    audit.record(principal, action="查看核酸与疫苗接种记录", target=body.get("name"),
                 scope=body.get("enterprise_name") or "", rows=1)
    return {"person": body, **health.records(staff.split_id(staff_id)[1]), "freshness": feeds.freshness()}


@route(bp, "GET", "/api/freshness")
def freshness(principal):
    return feeds.freshness()


@route(bp, "GET", "/api/feeds")
def list_feeds(principal):
    kind = query_params(bp).get("kind", "nat")
    if kind not in feeds.KINDS:
        kind = "nat"
    return {"items": [feeds.public(f) for f in feeds.recent(kind)], "freshness": feeds.freshness()}


@route(bp, "POST", "/api/feeds/upload")
def upload_feed(principal):
    """数据接入's upload, step one: {kind, filename, size} → the key under feeds/<kind>/ and the presigned
    POST the page sends the file with; its S3 event is the one a provider's drop raises."""
    kind = json_body(bp).get("kind", "")
    filename, size = upload_request(bp)
    key, form = feeds.upload(kind if isinstance(kind, str) else "", filename, size)
    audit.record(principal, action="上传数据文件", target=key.rsplit("/", 1)[-1], scope=feeds.KIND_LABELS.get(kind, kind))
    return json_response({"object_key": key, "upload": form}, 202)


@route(bp, "GET", "/api/dead-letters")
def list_dead_letters(principal):
    return {"items": dead_letters.listing(events.record_for)}


@route(bp, "POST", "/api/dead-letters/retry")
def retry_dead_letter(principal):
    body = json_body(bp)
    answer = dead_letters.retry(str(body.get("queue") or ""), str(body.get("id") or ""), events.record_for)
    queue = str(body.get("queue") or "")
    audit.record(principal, action="重试失败消息", target=str(body.get("id") or ""),
                 scope=dead_letters.QUEUES.get(queue, queue))
    return answer


@route(bp, "GET", "/api/feeds/{feed_id}")
def feed_detail(principal, feed_id):
    return feeds.public(feeds.get(feed_id), with_problems=True)


@route(bp, "GET", "/api/person-key")
def person_key_rotation(principal):
    """数据接入's line on the person-key rotation (docs/deploy.md): steady, running, failed, or done and
    waiting for `finish`. Never a key: versions, counts and the job's message."""
    return rotation.public(rotation.latest())
