"""The loopback HTTP server of `make run` and the browser tests.

    browser ──▶ front (threads: static files, and a relay) ──▶ API pool: N processes, one request each
                                                                at a time, like Lambda instances

Each API process holds its own Chalice app behind Chalice's local API Gateway emulation (the app keeps
the request being handled on itself, `app.current_request`, as a Lambda does: one request per process).
A slow export occupies one process; the other pages are answered by the others. A process that dies is
replaced, and its request answers 502 with a Chinese message instead of hanging.

A request's body is bounded before it is read, as API Gateway bounds it before Lambda sees it: past its
route's limit (api/edge.body_limit: 256 KB, a JSON form, on every route) on its Content-Length it is
refused with 413 unread; sent in chunks, it is read only while it stays inside the limit. Nothing past
the limit is ever held (a 50 MB upload used to be read whole, +241 MB in one process, before the app
refused it).

Files never reach the API: the page posts a workbook or a feed to S3 with the presigned form the API
signed. On AWS that is the bucket's own address; here the browser may not reach the moto process's port
(the pages' CSP says connect-src 'self'), so the form goes to /s3/<bucket> under this origin and is
relayed to moto byte for byte, streamed, never held whole. A POST policy's signature does not cover the
host, so moto sees exactly what S3 would. Only form posts to the files bucket are relayed.
"""
from __future__ import annotations

import base64
import json
import mimetypes
import multiprocessing
import os
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"
# The pages: scripts only from this origin (the built bundles; no inline script), never framed. Element
# Plus and Vant set style attributes, hence 'unsafe-inline' for styles only.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
                               "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_CONTEXT = multiprocessing.get_context("spawn")  # a clean interpreter: never fork a process with threads
# After refusing a body, what the client still sends is dropped (never kept) for this long before the
# connection closes: closed at once with unread data, TCP resets it and the client may lose the 413.
LINGER_SECONDS = 2.0
S3_RELAY = "/s3/"  # chalicelib/config.py UPLOAD_RELAY: where the API points a presigned POST locally
# The largest upload a form allows (a feed's CSV, services/feeds/ingest.py) and its form fields: moto
# would take more, S3 would not.
RELAY_MAX_BYTES = (200 << 20) + (1 << 20)
RELAY_CHUNK = 1 << 20


def _serve_requests(connection) -> None:
    """The body of one API process: build the gateway once, then answer one request at a time."""
    from local.children import quiet_interrupts, watch_parent

    quiet_interrupts()
    watch_parent()
    from chalice.config import Config
    from chalice.local import LocalGateway, LocalGatewayException

    import app as application
    from chalicelib.api.edge import API_HEADERS

    gateway = LocalGateway(application.app, Config(chalice_stage="local", config_from_disk={}))
    connection.send("ready")
    while True:
        try:
            method, path, headers, body, peer = connection.recv()
        except EOFError:
            return
        gateway.event_converter.LOCAL_SOURCE_IP = peer  # requestContext.identity.sourceIp, as API Gateway
        try:
            response = gateway.handle_request(method, path, headers, body)
            answer = (response["statusCode"], response["headers"], response["body"],
                      bool(response.get("isBase64Encoded")))
        except LocalGatewayException as exc:
            # API Gateway's own answer for a path no route has; in Chinese, as everything else
            body = json.dumps({"code": "NOT_FOUND", "message": "接口不存在"}, ensure_ascii=False) \
                if exc.CODE == 403 else (exc.body or b"")
            answer = (404 if exc.CODE == 403 else exc.CODE,
                      {"Content-Type": "application/json; charset=utf-8", **API_HEADERS}, body, False)
        connection.send(answer)


class ApiPool:
    """N API processes and the idle ones; `handle` borrows one for a request."""

    def __init__(self, size: int):
        self.size = size
        self._idle: queue.Queue = queue.Queue()
        self._all: list = []

    def start(self) -> "ApiPool":
        started = [self._spawn() for _ in range(self.size)]
        for worker in started:
            self._ready(worker)
        return self

    def _spawn(self):
        parent_end, child_end = _CONTEXT.Pipe()
        process = _CONTEXT.Process(target=_serve_requests, args=(child_end,), name="api", daemon=True)
        process.start()
        child_end.close()
        worker = (process, parent_end)
        self._all.append(worker)
        return worker

    def _ready(self, worker) -> None:
        if worker[1].poll(120) and worker[1].recv() == "ready":
            self._idle.put(worker)
        else:
            raise RuntimeError("本地 API 进程启动失败")

    def handle(self, method: str, path: str, headers: dict, body: bytes, peer: str):
        worker = self._idle.get()
        try:
            worker[1].send((method, path, headers, body, peer))
            answer = worker[1].recv()
        except (EOFError, OSError):
            self._replace(worker)
            message = {"code": "UNAVAILABLE", "message": "服务进程意外退出，请稍后重试"}
            return 502, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(message, ensure_ascii=False), False
        self._idle.put(worker)
        return answer

    def _replace(self, worker) -> None:
        self._all.remove(worker)
        worker[0].kill()
        threading.Thread(target=lambda: self._ready(self._spawn()), daemon=True).start()

    def stop(self) -> None:
        for process, connection in self._all:
            connection.close()
            process.terminate()
        for process, _ in self._all:
            process.join(timeout=5)


def make_handler(pool: ApiPool, dist: Path, s3_endpoint: str | None = None):
    from chalicelib.api.edge import API_HEADERS, body_limit
    from chalicelib.config import settings

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the terminal shows SMS codes and job results
            pass

        def send_response(self, code, message=None):  # no Server banner naming the software and versions
            self.log_request(code)
            self.send_response_only(code, message)
            self.send_header("Date", self.date_time_string())

        def handle_expect_100(self):
            """`Expect: 100-continue` (curl's way with a large body): refuse before the body is sent."""
            if self.path.startswith("/api/"):
                limit, message = body_limit(self.command, self.path)
                if self._declared_length() is not None and self._declared_length() > limit:
                    self._refuse(413, "TOO_LARGE", message)
                    return False
            return super().handle_expect_100()

        def _declared_length(self) -> int | None:
            try:
                length = int(self.headers.get("content-length") or 0)
            except ValueError:
                return None
            return length if length >= 0 else None

        def _body(self) -> bytes | None:
            """The request's body within its route's limit, or None once a refusal has been sent."""
            limit, message = body_limit(self.command, self.path)
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                return self._chunked(limit, message)
            length = self._declared_length()
            if length is None:
                self._refuse(400, "BAD_REQUEST", "请求头 Content-Length 不正确")
                return None
            if length > limit:  # refused on what it says, before a byte of it is read
                self._refuse(413, "TOO_LARGE", message)
                return None
            return self.rfile.read(length) if length else b""

        def _chunked(self, limit: int, message: str) -> bytes | None:
            """A chunked body, each chunk read only if the total stays within the limit."""
            parts, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    size = -1
                if size < 0:
                    self._refuse(400, "BAD_REQUEST", "请求内容的分块编码不正确")
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailer fields: none is used
                    return b"".join(parts)
                if total + size > limit:
                    self._refuse(413, "TOO_LARGE", message)
                    return None
                parts.append(self.rfile.read(size))
                total += size
                self.rfile.readline(3)  # the chunk's CRLF

        def _refuse(self, status: int, code: str, message: str):
            """A JSON refusal as the API gives, then close: the rest of the body is never read into memory."""
            data = json.dumps({"code": code, "message": message}, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Connection", "close")
            for name, value in API_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)  # the answer is complete
                self.connection.settimeout(0.5)
                deadline = time.monotonic() + LINGER_SECONDS
                while time.monotonic() < deadline and self.connection.recv(65536):
                    pass  # dropped as it arrives: the client reads the 413 instead of a reset
            except OSError:
                pass

        def _api(self):
            body = self._body()
            if body is None:
                return
            headers = {k.lower(): v for k, v in self.headers.items() if k.lower() != "transfer-encoding"}
            headers["content-length"] = str(len(body))
            status, out_headers, out_body, encoded = pool.handle(self.command, self.path, headers, body,
                                                                  self.client_address[0])
            if encoded:  # as API Gateway does for binary media types
                out_body = base64.b64decode(out_body)
            if out_body is None:
                out_body = b""
            if isinstance(out_body, str):
                out_body = out_body.encode()
            self.send_response(status)
            for name, value in out_headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(out_body)))
            self.end_headers()
            self.wfile.write(out_body)

        def _s3(self):
            """A presigned POST to the files bucket, relayed to the embedded S3 as it came (its Content-Length
            checked first, the body streamed through in 1 MB pieces); S3's answer relayed back."""
            import http.client
            from urllib.parse import urlparse

            bucket = self.path.split("?", 1)[0][len(S3_RELAY):].rstrip("/")
            if self.command != "POST" or not s3_endpoint or bucket != settings().files_bucket:
                self._plain(404, "不存在")
                return
            if not (self.headers.get("content-type") or "").lower().startswith("multipart/form-data"):
                self._refuse(400, "BAD_REQUEST", "上传请求格式不正确（应为表单上传）")
                return
            length = self._declared_length()
            if length is None or "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                self._refuse(411, "LENGTH_REQUIRED", "上传请求缺少 Content-Length")
                return
            if length > RELAY_MAX_BYTES:
                self._refuse(413, "TOO_LARGE", f"文件超过 {RELAY_MAX_BYTES >> 20} MB")
                return
            target = urlparse(s3_endpoint)
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=600)
            left = length
            try:
                upstream.putrequest("POST", f"/{bucket}", skip_accept_encoding=True)
                for name in ("Content-Type", "Content-Length"):
                    upstream.putheader(name, self.headers[name])
                upstream.endheaders()
                while left:
                    piece = self.rfile.read(min(RELAY_CHUNK, left))
                    if not piece:
                        raise ConnectionError("the browser stopped sending")
                    upstream.send(piece)
                    left -= len(piece)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for name in ("Content-Type", "ETag", "Location"):
                    if answer.getheader(name):
                        self.send_header(name, answer.getheader(name))
                self.send_header("Content-Length", str(len(data)))
                for name, value in API_HEADERS.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (OSError, http.client.HTTPException):
                self.close_connection = True
                if not left:  # the body went through; S3 (moto) did not answer
                    self._plain(502, "文件存储未响应，请重试")
            finally:
                upstream.close()

        def _static(self):
            path = self.path.split("?", 1)[0].split("#", 1)[0]
            if path in ("/m", "/m/"):
                path = "/m/index.html"
            elif path == "/":
                path = "/index.html"
            target = (dist / path.lstrip("/")).resolve()
            if not str(target).startswith(str(dist.resolve())) or not target.is_file():
                target = dist / "index.html"
            if not target.is_file():
                self._plain(503, "前端尚未构建：请运行 make run")
                return
            data = target.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", mimetypes.guess_type(target.name)[0] or "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache" if target.suffix == ".html" else "max-age=3600")
            for name, value in PAGE_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self):
            if self.path.startswith("/api/"):
                self._api()
            elif self.path.startswith(S3_RELAY):
                self._s3()
            elif self.command in ("GET", "HEAD"):
                self._static()
            else:
                self._plain(405, "不支持此请求方法")

        def _plain(self, status: int, text: str):
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in PAGE_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

        def do_OPTIONS(self):
            self._api()

    return Handler


class Server:
    """The front server and its API pool; `stop()` ends both."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 8000, processes: int | None = None,
                 dist: Path = DIST, s3_endpoint: str | None = None):
        """s3_endpoint: the embedded S3 the /s3/ relay forwards presigned uploads to (none: no relay)."""
        self.pool = ApiPool(processes or int(os.environ.get("LOCAL_API_PROCESSES", "4")))
        self.host, self.port, self.dist, self.s3_endpoint = host, port, dist, s3_endpoint
        self._http: ThreadingHTTPServer | None = None

    def start(self) -> "Server":
        self.pool.start()
        self._http = ThreadingHTTPServer((self.host, self.port), make_handler(self.pool, self.dist, self.s3_endpoint))
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, name="http", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        self.pool.stop()
