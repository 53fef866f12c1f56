"""The HTTP edge shared by every blueprint: authenticate, map domain errors, shape responses."""
from __future__ import annotations

import functools
import hmac
import json
import logging
from typing import Any, Callable
from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib.access import policy
from chalicelib.api import params as forms
from chalicelib.api.edge import MAX_JSON_BYTES
from chalicelib.errors import DomainError, TooLargeError, ValidationError
from chalicelib.rules.text import TextError
from chalicelib.services.common import stage_secrets
from chalicelib.services.identity import audit
from chalicelib.services.identity.auth import Principal, authenticate, head_display_name, head_names
from chalicelib.services.jobs import imports
from chalicelib.services.registry.enterprises import enterprises_of_head
from chalicelib.workbooks.enterprise_book import XLSX

log = logging.getLogger(__name__)


def error_response(exc: DomainError) -> Response:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.fields:
        body["fields"] = exc.fields
    body.update(exc.extra)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if "retry_after" in exc.extra:
        headers["Retry-After"] = str(exc.extra["retry_after"])
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=exc.status, headers=headers)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(body=json.dumps(body, ensure_ascii=False), status_code=status,
                    headers={"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"})


def xlsx_response(data: bytes, filename: str) -> Response:
    return Response(body=data, status_code=200, headers={
        "Content-Type": XLSX,
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store",
    })


def endpoint(bp: Blueprint, *, roles: tuple[str, ...] | None = None, public: bool = False) -> Callable:
    """Wrap a view: resolve the caller (unless public), check the role, turn domain errors into answers.
    The view gets the Principal as its first argument (public views get none)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            request = bp.current_request
            bound = audit.bind(client_address(bp), request.headers.get("user-agent") or "")
            principal = None
            try:
                if not public:
                    principal = authenticate(bearer_token(bp))
                    if roles is not None:
                        policy.require(principal, roles)
                # after the session (a signed-out caller gets 401 whatever the id), before the view: no
                # id of the wrong form reaches a service, nor DynamoDB's key limits (api/params.py)
                query = request.query_params
                forms.check(kwargs, {name: query.getlist(name) for name in query} if query else {})
                result = view(*args, **kwargs) if public else view(principal, *args, **kwargs)
            except DomainError as exc:
                if principal is not None and _refusal(exc):
                    audit.record(principal, action="拒绝访问", target=f"{request.method} {request.path}",
                                 outcome="拒绝")
                return error_response(exc)
            except TextError as exc:  # a non-text value where text belongs, outside a schema that names it
                return error_response(ValidationError(f"请求内容中有字段{exc}"))
            except Exception:  # noqa: BLE001 - a bug: log it, answer in Chinese, never leak a trace
                log.exception("unhandled error in %s", view.__name__)
                return json_response({"code": "INTERNAL", "message": "服务器内部错误，请稍后重试或联系系统运维人员"}, 500)
            finally:
                audit.unbind(bound)
            if isinstance(result, Response):
                return result
            return json_response(result)

        return wrapper

    return decorate


def route(bp: Blueprint, method: str, path: str) -> Callable:
    """Declare a route: its roles come from the one policy table (access/policy.py), never from here, and
    each parameter of its path has a declared form (api/params.py), checked before the view runs. Every
    route takes JSON (Chalice's default content type): no file ever comes through the API."""
    who = policy.roles_for(method, path)
    if forms.undeclared(path):
        raise LookupError(f"route {method} {path}: parameters {forms.undeclared(path)} have no form in "
                          "chalicelib/api/params.py")

    def decorate(view: Callable) -> Callable:
        wrapped = endpoint(bp, public=who == policy.PUBLIC,
                           roles=None if who in (policy.PUBLIC, policy.SIGNED_IN) else who)(view)
        return bp.route(path, methods=[method])(wrapped)

    return decorate


def _refusal(exc: DomainError) -> bool:
    """A signed-in caller reaching for what is not theirs: a role refusal, or an object outside scope."""
    return exc.status == 403 or (exc.status == 404 and "管理范围" in exc.message)


def bearer_token(bp: Blueprint) -> str | None:
    header = bp.current_request.headers.get("authorization") or ""
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


MAX_JSON_DEPTH = 6  # the deepest body is an enterprise's extra fields: {"extra": {"project_name": "…"}}


def json_body(bp: Blueprint) -> dict:
    """The request's JSON object, bounded in size and depth, every string checked to be text a person
    can have typed (a lone surrogate is refused naming its field, before anything reaches a store)."""
    raw = bp.current_request.raw_body
    if not raw:
        return {}
    if len(raw) > MAX_JSON_BYTES:
        raise TooLargeError(f"请求内容过大（超过 {MAX_JSON_BYTES // 1024} KB）")
    try:
        body = json.loads(raw)
    except RecursionError:
        raise ValidationError("请求内容嵌套层级过深")
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("请求内容不是有效的 JSON")
    if not isinstance(body, dict):
        raise ValidationError("请求内容格式不正确")
    _check_values(body)
    return body


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in text)


def _check_values(body: dict) -> None:
    stack = [(body, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValidationError("请求内容嵌套层级过深")
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            where = f"{path}.{key}" if path else str(key)
            for text in (key, item):
                if isinstance(text, str) and _has_surrogate(text):
                    # the field's name may itself be the bad text: never echo a surrogate back
                    field = where.split(".")[0]
                    field = field if not _has_surrogate(field) else "（字段名）"
                    raise ValidationError(f"字段 {field} 含有无法识别的字符", fields={field: "含有无法识别的字符"})
            if isinstance(item, (dict, list)):
                stack.append((item, where, depth + 1))


def client_address(bp: Blueprint) -> str:
    """Who is calling: the login and SMS limits count per address, and the audit records it."""
    request = bp.current_request
    source = str(((request.context or {}).get("identity") or {}).get("sourceIp") or "unknown")
    return viewer_address(source, request.headers or {}, stage_secrets.edge_secrets())


def viewer_address(source: str, headers, edge_secret: str | tuple[str, ...]) -> str:
    """API Gateway's sourceIp is the connection it saw (the local server passes its peer). Behind the
    console's CloudFront (infra/hosting.json) that is an edge server, shared by everyone near it — so
    one user's wrong passwords would lock out a city. CloudFront appends the viewer it saw to
    X-Forwarded-For, and API Gateway appends the edge: the viewer is the last entry but one. That header
    is whatever a client wrote unless the request came through CloudFront, which is what X-Sentinel-Edge
    proves (a secret CloudFront adds and no viewer knows; during its rotation the previous value too,
    services/common/stage_secrets.py); otherwise sourceIp, never a header."""
    offered = str(headers.get("x-sentinel-edge", "")).encode()
    known = (edge_secret,) if isinstance(edge_secret, str) else edge_secret
    if not any([hmac.compare_digest(offered, value.encode()) for value in known if value]):
        return source
    hops = [hop.strip() for hop in str(headers.get("x-forwarded-for", "")).split(",") if hop.strip()]
    return hops[-2] if len(hops) >= 2 else source


def query_params(bp: Blueprint) -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def int_param(params: dict[str, str], name: str, default: int, *, low: int = 1, high: int = 500) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise ValidationError(f"参数 {name} 须为整数", fields={name: "须为整数"})
    return max(low, min(high, value))


def user_body(principal: Principal) -> dict:
    body = {"id": principal.id, "role": principal.role, "role_label": principal.role_label,
            "display_name": principal.display_name, "town": principal.town or "",
            "categories": principal.categories}
    if principal.role != "head":  # what the pages offer to pick: the caller's district and its towns
        body |= {"district": principal.scope.area or "", "towns": principal.scope.visible_towns()}
    if principal.role == "head":
        # a head has no account: their name and enterprises are what the enterprises they head say
        owned = enterprises_of_head(principal.id)
        body["enterprises"] = [{"id": e.enterprise_id, "name": e.name} for e in owned]
        body["display_name"] = head_display_name(owned)
        body["head_name"] = "、".join(head_names(owned))
    return body


def principal_scope(principal: Principal) -> str:
    """The caller's own scope in words, for the audit log."""
    return principal.scope.label()


def upload_request(bp: Blueprint) -> tuple[str, int]:
    """The first step of an upload: the file's name and size (bytes), as the page knows them from the
    chosen file. The file itself goes to S3 with the form the answer carries."""
    body = json_body(bp)
    filename, size = body.get("filename", ""), body.get("size")
    if not isinstance(filename, str):
        raise ValidationError("文件名须为文字", fields={"filename": "须为文字"})
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValidationError("文件大小须为不小于 0 的整数（字节数）", fields={"size": "须为不小于 0 的整数"})
    return filename, size


def start_import(bp: Blueprint, principal: Principal, kind: str) -> Response:
    """An import job waiting for its workbook, and the presigned POST that sends the workbook to S3: 202
    with the job and `upload` ({url, fields, expires_at, max_bytes})."""
    filename, size = upload_request(bp)
    job, form = imports.start(principal, kind=kind, filename=filename, size=size)
    audit.record(principal, action="导入企业信息" if kind == "enterprises" else "导入员工信息",
                 target=job.filename, scope=principal_scope(principal))
    return json_response({**imports.public(job), "upload": form}, 202)
