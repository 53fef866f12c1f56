"""What every API answer gets, whichever route (or none) produced it: browser security headers, and the
framework's own refusals (wrong method, wrong content type, a download asked for without an Accept
header) in Chinese and in the shape of every other error — never Chalice's English internals. And what
every request may carry: a JSON form of at most 256 KB (files go to S3 directly, never through the API),
refused on its declared Content-Length before any view reads it (`body_limit`, also what the local
server's relay refuses before reading).

Registered as Chalice `http` middleware in app.py, so it wraps the whole REST handler, including the
answers Chalice gives before any view runs.
"""
from __future__ import annotations

import json

from chalice import Chalice, Response

from chalicelib.runtime import running

# An API answer is data, never a page: it may not run, embed or be embedded anything.
API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_FRAMEWORK = {
    "MethodNotAllowedError": ("METHOD_NOT_ALLOWED", "该接口不支持此请求方法"),
    "UnsupportedMediaType": ("UNSUPPORTED_MEDIA_TYPE", "请求内容的类型不被该接口接受（接口只接受 JSON；文件请在页面上选择后上传）"),
    "BadRequest": ("ACCEPT_REQUIRED", "下载失败：请求未声明可以接收该文件类型，请使用系统页面上的【导出】或【下载】按钮"
                                      "（接口调用请在 Accept 中声明 Excel 文件类型或 */*）"),
    "NotFoundError": ("NOT_FOUND", "接口不存在"),
    "InternalServerError": ("INTERNAL", "服务器内部错误，请稍后重试或联系系统运维人员"),
}


MAX_JSON_BYTES = 256 * 1024  # the largest form is a batch delete of 500 ids (~25 KB)
# No route takes a file: a workbook or a feed goes to S3 through a presigned POST these routes hand out
# (services/jobs/imports.py start, services/feeds/ingest.py upload). A large body sent to one of them is a
# file sent to the wrong place, and is told so.
UPLOAD_STARTS = {("POST", "/api/enterprises/import"), ("POST", "/api/staff/import"), ("POST", "/api/feeds/upload")}
FILE_NOT_HERE = (f"请求内容过大（超过 {MAX_JSON_BYTES // 1024} KB）：文件不经由此接口上传，请在页面上选择文件，"
                 "系统会将其直接上传到文件存储")


def body_limit(method: str, path: str) -> tuple[int, str]:
    """The most bytes a request to this route may carry, and the Chinese message of a 413 past it: a JSON
    form on every route (a concrete path serves as well as the route's: no upload route has a parameter)."""
    if (method.upper(), path.split("?", 1)[0]) in UPLOAD_STARTS:
        return MAX_JSON_BYTES, FILE_NOT_HERE
    return MAX_JSON_BYTES, f"请求内容过大（超过 {MAX_JSON_BYTES // 1024} KB）"


def too_large(message: str) -> Response:
    return Response(body=json.dumps({"code": "TOO_LARGE", "message": message}, ensure_ascii=False),
                    status_code=413, headers={"Content-Type": "application/json; charset=utf-8"})


def _declared_too_large(request) -> Response | None:
    """A body whose Content-Length says it is past the route's limit: refused before a view decodes it.
    (A body without one is bounded by API Gateway and Lambda, and checked by the view that reads it.)"""
    if request is None:
        return None
    declared = (request.headers or {}).get("content-length")
    limit, message = body_limit(request.method, request.path)
    try:
        return too_large(message) if declared is not None and int(declared) > limit else None
    except ValueError:  # API Gateway would not pass it on; a local caller might
        return None


def _translated(response: Response) -> Response:
    if response.status_code < 400 or "json" not in str(response.headers.get("Content-Type", "application/json")):
        return response
    body = response.body
    if not isinstance(body, dict):
        try:
            body = json.loads(body) if body else {}
        except (TypeError, ValueError):
            return response
    known = _FRAMEWORK.get(body.get("Code")) if isinstance(body, dict) else None
    if known is None:
        return response
    code, message = known
    headers = {k: v for k, v in response.headers.items() if k.lower() == "allow"}
    headers["Content-Type"] = "application/json; charset=utf-8"
    return Response(body=json.dumps({"code": code, "message": message}, ensure_ascii=False),
                    status_code=response.status_code, headers=headers)


def register(app: Chalice) -> None:
    @app.middleware("http")
    def secure_answers(event, get_response):
        with running("api_handler"):
            response = _declared_too_large(event) or _translated(get_response(event))
        for name, value in API_HEADERS.items():
            if name not in response.headers and name.lower() not in {k.lower() for k in response.headers}:
                response.headers[name] = value
        return response
