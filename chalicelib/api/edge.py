"""What every API answer gets, whichever route (or none) produced it: browser security headers, and the
framework's own refusals (wrong method, wrong content type, a download asked for without an Accept
header) in Chinese and in the shape of every other error — never Chalice's English internals.

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
    "UnsupportedMediaType": ("UNSUPPORTED_MEDIA_TYPE", "请求内容的类型不被该接口接受（上传请使用 .xlsx 或 .csv 文件）"),
    "BadRequest": ("ACCEPT_REQUIRED", "下载失败：请求未声明可以接收该文件类型，请使用系统页面上的【导出】或【下载】按钮"
                                      "（接口调用请在 Accept 中声明 Excel 文件类型或 */*）"),
    "NotFoundError": ("NOT_FOUND", "接口不存在"),
    "InternalServerError": ("INTERNAL", "服务器内部错误，请稍后重试或联系系统运维人员"),
}


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
            response = _translated(get_response(event))
        for name, value in API_HEADERS.items():
            if name not in response.headers and name.lower() not in {k.lower() for k in response.headers}:
                response.headers[name] = value
        return response
