"""A local 粤政易 stand-in: the WeCom (企业微信) server protocol on loopback (DOMAIN.md "粤政易").

It answers what the notifier will call — gettoken, media/upload, message/send — with WeCom's error
codes, and keeps every accepted message and file so a person (GET /_outbox) or a test can see what
was sent. Members are the user ids in `members`; any other recipient is reported in `invaliduser`.

`fail_next(path, *faults)` makes the next calls of a path fail the ways the real server does: an
errcode (−1, 45009, 42001, 60020 …) answered instead of the work, "invalid" (errcode 0 with the recipient
in `invaliduser`), "lost" (the work is done — a message is delivered — but the answer never comes back in
time), or "close" (the connection drops unanswered, nothing done). POST /_faults does the same for a person trying the stack by hand.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MAX_MEDIA = 20 * 1024 * 1024
DEMO_NAMES = {"zhuanban": "专班值班", "youzheng": "邮政管理局值班", "zhujian": "住建局值班", "shijian": "市场监管局值班",
              "nanshajie": "南沙街值班", "huangge": "黄阁镇值班", "yunwei": "运维值班"}
TEXT_LIMIT = 2048


class WeComStandIn:
    def __init__(self, *, corpid: str = "local-corp", secret: str = "local-secret", agentid: int = 1000002,
                 members: tuple[str, ...] = ("zhuanban", "youzheng", "zhujian", "shijian", "nanshajie", "huangge", "yunwei")):
        self.corpid, self.secret, self.agentid = corpid, secret, agentid
        self.members = set(members)
        self.names = dict(DEMO_NAMES)
        self.tokens: dict[str, float] = {}
        self.media: dict[str, dict] = {}
        self.outbox: list[dict] = []
        self.faults: dict[str, list] = {}
        self.seen: dict[tuple[str, str], float] = {}  # (member, content) → first sent, for enable_duplicate_check
        self.duplicates = 0
        self.lost_seconds = 3.0  # how long a "lost" answer is held: longer than the client waits
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def fail_next(self, path: str, *faults) -> None:
        with self.lock:
            self.faults.setdefault(path, []).extend(faults)

    def _fault(self, path: str):
        with self.lock:
            queue = self.faults.get(path) or []
            return queue.pop(0) if queue else None

    def sent_to(self, user: str) -> list[dict]:
        with self.lock:
            return [m for m in self.outbox if user in m["to"]]

    # --- the protocol -----------------------------------------------------------------------------

    def gettoken(self, query: dict) -> dict:
        if query.get("corpid") != self.corpid or query.get("corpsecret") != self.secret:
            return {"errcode": 40001, "errmsg": "invalid credential"}
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.time() + 7200
        return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}

    def _token_error(self, query: dict) -> dict | None:
        expires = self.tokens.get(query.get("access_token", ""))
        if expires is None:
            return {"errcode": 40014, "errmsg": "invalid access_token"}
        if expires < time.time():
            return {"errcode": 42001, "errmsg": "access_token expired"}
        return None

    def upload(self, query: dict, filename: str, data: bytes) -> dict:
        error = self._token_error(query)
        if error:
            return error
        if query.get("type") != "file":
            return {"errcode": 40004, "errmsg": "invalid media type"}
        if len(data) <= 5 or len(data) > MAX_MEDIA:
            return {"errcode": 40006, "errmsg": "invalid media size"}
        media_id = secrets.token_hex(12)
        with self.lock:
            self.media[media_id] = {"filename": filename, "data": data, "at": time.time()}
        return {"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id, "created_at": str(int(time.time()))}

    def user(self, query: dict) -> dict:
        """user/get: a member's card, or 60111 for a userid the directory does not have."""
        error = self._token_error(query)
        if error:
            return error
        user = query.get("userid", "")
        if user not in self.members:
            return {"errcode": 60111, "errmsg": f"userid not found: {user}"}
        return {"errcode": 0, "errmsg": "ok", "userid": user, "name": self.names.get(user, user), "status": 1}

    def send(self, query: dict, body: dict) -> dict:
        error = self._token_error(query)
        if error:
            return error
        if body.get("agentid") != self.agentid:
            return {"errcode": 40056, "errmsg": "invalid agentid"}
        kind = body.get("msgtype")
        if kind == "text":
            content = (body.get("text") or {}).get("content", "")
            if not content or len(content.encode()) > TEXT_LIMIT:
                return {"errcode": 44004, "errmsg": "text content empty or over 2048 bytes"}
        elif kind == "file":
            if (body.get("file") or {}).get("media_id") not in self.media:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
        elif kind != "textcard":
            return {"errcode": 40008, "errmsg": "invalid message type"}
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        if not users or len(users) > 1000:
            return {"errcode": 40031, "errmsg": "invalid user list"}
        invalid = [u for u in users if u not in self.members]
        if len(invalid) == len(users):
            return {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": "|".join(invalid)}
        to = [u for u in users if u in self.members]
        if body.get("enable_duplicate_check") == 1:  # the same content to the same member within the interval: dropped
            content = json.dumps({k: v for k, v in body.items() if k not in ("touser", "enable_duplicate_check",
                                                                          "duplicate_check_interval")}, sort_keys=True)
            interval = min(int(body.get("duplicate_check_interval") or 1800), 14400)
            with self.lock:
                fresh = [u for u in to if self.seen.get((u, content), 0) < time.time() - interval]
                for u in to:
                    self.seen.setdefault((u, content), time.time())
                self.duplicates += len(to) - len(fresh)
            to = fresh
            if not to:
                return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid)}
        message = {"at": time.time(), "to": to, "msgtype": kind, "body": body}
        if kind == "file":
            message["filename"] = self.media[body["file"]["media_id"]]["filename"]
        with self.lock:
            self.outbox.append(message)
        return {"errcode": 0, "errmsg": "ok", "invaliduser": "|".join(invalid)}

    # --- the server -------------------------------------------------------------------------------

    def start(self, port: int, host: str = "127.0.0.1") -> str:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def _reply(self, body: dict, status: int = 200) -> None:
                data = json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, path: str, work):
                """The work's answer, or the fault queued for this path."""
                fault = stand_in._fault(path)
                if isinstance(fault, int):
                    return self._reply({"errcode": fault, "errmsg": "injected"})
                if fault == "close":
                    self.close_connection = True
                    return None
                if fault == "invalid":  # accepted, but the recipient named in invaliduser (errcode 0)
                    return self._reply({"errcode": 0, "errmsg": "ok", "invaliduser": getattr(self, "recipients", "")})
                answer = work()
                if fault == "lost":
                    time.sleep(stand_in.lost_seconds)
                    self.close_connection = True
                    return None
                return self._reply(answer)

            def do_GET(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/cgi-bin/gettoken":
                    return self._answer(url.path, lambda: stand_in.gettoken(query))
                if url.path == "/cgi-bin/user/get":
                    return self._answer(url.path, lambda: stand_in.user(query))
                if url.path == "/_outbox":  # every message as it arrived: the card's text, the file's name
                    with stand_in.lock:
                        items = list(stand_in.outbox)
                    return self._reply({"items": items})
                return self._reply({"errcode": 404, "errmsg": "not found"}, 404)

            def do_POST(self):
                url = urlparse(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                if url.path == "/cgi-bin/message/send":
                    try:
                        body = json.loads(raw or b"{}")
                    except ValueError:
                        return self._reply({"errcode": 47001, "errmsg": "data format error"})
                    self.recipients = str(body.get("touser", ""))
                    return self._answer(url.path, lambda: stand_in.send(query, body))
                if url.path == "/cgi-bin/media/upload":
                    filename, data = _multipart_file(self.headers.get("content-type", ""), raw)
                    return self._answer(url.path, lambda: stand_in.upload(query, filename, data))
                if url.path == "/_faults":
                    try:
                        body = json.loads(raw or b"{}")
                        stand_in.fail_next(str(body["path"]), *body["faults"])
                    except (ValueError, KeyError, TypeError):
                        return self._reply({"errcode": 47001, "errmsg": "data format error"})
                    return self._reply({"errcode": 0, "errmsg": "ok"})
                return self._reply({"errcode": 404, "errmsg": "not found"}, 404)

        self.server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, name="wecom", daemon=True).start()
        return f"http://{host}:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()  # refuse connections from now on, as a server that is down does


def _multipart_file(content_type: str, raw: bytes) -> tuple[str, bytes]:
    """The `media` part of a multipart/form-data body: (filename, bytes)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    for part in message.iter_parts() if message.is_multipart() else ():
        if part.get_param("name", header="content-disposition") == "media":
            return part.get_filename() or "file", part.get_payload(decode=True) or b""
    return "", b""
