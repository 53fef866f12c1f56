"""One loopback HTTP server for `make run` and the browser tests: /api/* goes through Chalice's local
API Gateway emulation to the same app the Lambda runs; everything else is the built frontend."""
from __future__ import annotations

import base64
import mimetypes
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from chalice.config import Config
from chalice.local import LocalGateway, LocalGatewayException

DIST = Path(__file__).resolve().parent.parent / "frontend" / "dist"


def make_handler(gateway: LocalGateway, dist: Path):
    # Chalice keeps the request being handled on the app object (app.current_request), as a Lambda
    # does: one request at a time per process. The server threads must not interleave inside it.
    one_at_a_time = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # quiet: the terminal shows SMS codes and job results
            pass

        def _api(self):
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                with one_at_a_time:
                    response = gateway.handle_request(self.command, self.path, headers, body)
                status, out_headers, out_body = response["statusCode"], response["headers"], response["body"]
                if response.get("isBase64Encoded"):  # as API Gateway does for binary media types
                    out_body = base64.b64decode(out_body)
            except LocalGatewayException as exc:
                status, out_headers, out_body = exc.CODE, exc.headers, exc.body or b""
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
                self.send_error(503, "frontend not built: run make run")
                return
            data = target.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", mimetypes.guess_type(target.name)[0] or "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-cache" if target.suffix == ".html" else "max-age=3600")
            self.end_headers()
            self.wfile.write(data)

        def _dispatch(self):
            if self.path.startswith("/api/"):
                self._api()
            elif self.command in ("GET", "HEAD"):
                self._static()
            else:
                self.send_error(405)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

        def do_OPTIONS(self):
            self._api()

    return Handler


def serve(app, *, host: str = "127.0.0.1", port: int = 8000, dist: Path = DIST) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; returns the server (call .shutdown() to stop)."""
    gateway = LocalGateway(app, Config(chalice_stage="local", config_from_disk={}))
    server = ThreadingHTTPServer((host, port), make_handler(gateway, dist))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
