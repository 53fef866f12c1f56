"""The 粤政易 client: the WeCom (企业微信) server protocol (DOMAIN.md "粤政易") the 09:00 push speaks.

What it decides, so the push does not have to:
- the access token is cached per process and fetched again on 40014 / 42001 (once per call);
- it branches on `errcode`, never on `errmsg`: −1 (busy) is retried, 45009 / 45033 (rate limits) are
  backed off and retried, everything else is a `WeComError` with a Chinese reason for 推送记录;
- each member gets at most 30 messages a minute from the app (extra ones are dropped silently by the
  server), so sends to one member are paced here;
- a request that reached the server but whose answer was lost (a timeout while reading, a broken
  answer) is `Unknown`: the message may have arrived, so the caller must not blindly send it again.
  A connection that could not be opened is a plain failure: nothing was sent.

Credentials (base URL, corpid, secret, agentid) come from the stage's secret (WECOM_SECRET_ID, Secrets
Manager) or, on the local and test stages only, from WECOM_BASE_URL / WECOM_CORPID / WECOM_SECRET /
WECOM_AGENTID.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

from chalicelib.integrations import secrets

PER_MEMBER_PER_MINUTE = 30
TOKEN_CODES = (40014, 42001)  # invalid / expired access token: fetch a new one
BUSY = -1
RATE_LIMITED = (45009, 45033)
NO_SUCH_USER = (60111, 46004)  # userid not found (60111); WeCom's older "user does not exist" (46004)
REASONS = {
    40001: "粤政易应用凭据错误（40001），请运维检查 corpid / secret 配置",
    40056: "粤政易应用编号不正确（40056），请运维检查 agentid 配置",
    60020: "粤政易未将本系统的出口地址加入可信IP（60020），请联系粤政易管理员",
    81013: "接收人不在粤政易通讯录或不在应用可见范围内（81013），请核对推送人员账号",
    40006: "附件大小不符合粤政易要求（40006）",
    44004: "消息内容为空或超长（44004）",
}


class WeComError(Exception):
    """The server answered and refused (or could not be reached): nothing was delivered."""

    def __init__(self, reason: str, errcode: int | None = None):
        super().__init__(reason)
        self.reason, self.errcode = reason, errcode


class Unknown(Exception):
    """The request reached the server but no usable answer came back: it may have been delivered."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def reason_for(errcode: int) -> str:
    return REASONS.get(errcode, f"粤政易返回错误码 {errcode}")


@dataclass
class Credentials:
    base_url: str
    corpid: str
    secret: str
    agentid: int


def credentials() -> Credentials:
    env = os.environ
    secret_id = env.get("WECOM_SECRET_ID", "")
    if secret_id:  # the stage's secret: {"base_url", "corpid", "secret", "agentid"} (粤政易's address is not public)
        try:
            value = secrets.json_object(secret_id)
            creds = Credentials(value.get("base_url") or env.get("WECOM_BASE_URL", ""), value["corpid"],
                                value["secret"], int(value["agentid"]))
        except (secrets.Unreadable, KeyError, TypeError, ValueError) as exc:
            raise WeComError(f"无法读取粤政易凭据（{secret_id}），请运维检查密钥配置") from exc
        if not (creds.base_url.startswith(("https://", "http://")) and creds.corpid and creds.secret and creds.agentid):
            raise WeComError(f"粤政易凭据尚未填写完整（{secret_id}：base_url、corpid、secret、agentid），请运维配置后重试")
        return creds
    base = env.get("WECOM_BASE_URL", "")
    if not base:
        raise WeComError("未配置粤政易服务地址（WECOM_BASE_URL），请运维检查部署配置")
    if env.get("STAGE", "local") not in ("local", "test"):
        raise WeComError("未配置粤政易凭据（WECOM_SECRET_ID），请运维检查部署配置")
    return Credentials(base, env.get("WECOM_CORPID", "local-corp"), env.get("WECOM_SECRET", "local-secret"),
                       int(env.get("WECOM_AGENTID", "1000002")))


@dataclass
class Pacer:
    """At most `limit` messages a minute to one member, across the calls of this process."""

    limit: int = PER_MEMBER_PER_MINUTE
    sleep: object = time.sleep
    clock: object = time.monotonic
    sent: dict = field(default_factory=lambda: defaultdict(deque))

    def wait_for(self, user: str) -> None:
        times = self.sent[user]
        while times and self.clock() - times[0] >= 60:
            times.popleft()
        if len(times) >= self.limit:
            self.sleep(60 - (self.clock() - times[0]) + 0.1)
            return self.wait_for(user)
        times.append(self.clock())


class Client:
    def __init__(self, creds: Credentials, *, timeout: float = 10, sleep=time.sleep, retries: int = 3,
                 backoff: float = 2.0):
        self.creds, self.timeout, self.sleep = creds, timeout, sleep
        self.retries, self.backoff = retries, backoff
        self.pacer = Pacer(sleep=sleep)
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    @property
    def agentid(self) -> int:
        return self.creds.agentid

    # --- the three calls --------------------------------------------------------------------------

    def token(self, *, fresh: bool = False) -> str:
        with self._lock:
            if fresh or self._token is None or self._token[1] < time.monotonic():
                query = urlencode({"corpid": self.creds.corpid, "corpsecret": self.creds.secret})
                reply = self._checked(lambda: self._http("GET", f"/cgi-bin/gettoken?{query}", delivers=False))
                self._token = (reply["access_token"], time.monotonic() + int(reply.get("expires_in", 7200)) - 300)
            return self._token[0]

    def upload(self, filename: str, data: bytes) -> str:
        """A file for a `file` message (valid 3 days); the name is what the recipient sees."""
        boundary = uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="{filename}"; '
                f"filename*=UTF-8''{quote(filename)}\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        body += data + f"\r\n--{boundary}--\r\n".encode()
        reply = self._with_token(lambda token: self._http(
            "POST", f"/cgi-bin/media/upload?access_token={token}&type=file", body,
            f"multipart/form-data; boundary={boundary}", delivers=False))
        return reply["media_id"]

    def send(self, user: str, message: dict) -> dict:
        """message/send to one member, paced, with WeCom's duplicate check as a second guard against a
        repeat. Raises WeComError when the member is not reachable (81013, or named in invaliduser)."""
        body = {"touser": user, "agentid": self.creds.agentid, "enable_duplicate_check": 1,
                "duplicate_check_interval": 14400, **message}
        data = json.dumps(body, ensure_ascii=False).encode()
        self.pacer.wait_for(user)
        reply = self._with_token(lambda token: self._http(
            "POST", f"/cgi-bin/message/send?access_token={token}", data, "application/json", delivers=True))
        if user in str(reply.get("invaliduser", "")).split("|"):
            raise WeComError(reason_for(81013), 81013)
        return reply

    def user(self, user: str) -> dict | None:
        """The member `user` in the 粤政易 directory (`user/get`), or None if there is no such member
        (60111) — how a recipient is checked before anyone relies on it."""
        try:
            return self._with_token(lambda token: self._http(
                "GET", f"/cgi-bin/user/get?access_token={token}&userid={quote(user)}", delivers=False))
        except WeComError as exc:
            if exc.errcode in NO_SUCH_USER:
                return None
            raise

    # --- errcode handling -------------------------------------------------------------------------

    def _with_token(self, call) -> dict:
        def attempt() -> dict:
            reply = call(self.token())
            for _ in range(2):  # a token revoked or expired since it was cached: fetch it again
                if reply.get("errcode") not in TOKEN_CODES:
                    break
                reply = call(self.token(fresh=True))
            return reply
        return self._checked(attempt)

    def _checked(self, attempt) -> dict:
        """The answer if errcode is 0; −1 and the rate limits are retried with a growing pause."""
        reply, tries = attempt(), 0
        while reply.get("errcode") == BUSY or reply.get("errcode") in RATE_LIMITED:
            if tries >= self.retries:
                code = reply["errcode"]
                if code == BUSY:
                    raise WeComError(f"粤政易系统繁忙（-1），已重试 {tries} 次仍未成功，可稍后在推送记录中重试", code)
                raise WeComError(f"粤政易接口调用频率超限（{code}），已退避重试 {tries} 次，可稍后在推送记录中重试", code)
            pause = self.backoff * (2 ** tries) * (1 if reply.get("errcode") == BUSY else 5)
            self.sleep(pause)
            tries += 1
            reply = attempt()
        code = reply.get("errcode")
        if code != 0:
            raise WeComError(reason_for(code) if isinstance(code, int) else "粤政易应答格式不正确", code)
        return reply

    # --- transport --------------------------------------------------------------------------------

    def _http(self, method: str, path: str, body: bytes | None = None, content_type: str = "",
              *, delivers: bool) -> dict:
        """One HTTP exchange. `delivers`: a lost answer means the message may have arrived (Unknown);
        otherwise (a token, an upload) repeating it is harmless, so it is a plain failure."""
        url = urlsplit(self.creds.base_url)
        kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = kind(url.hostname, url.port, timeout=self.timeout)
        try:
            try:
                connection.connect()
            except (OSError, socket.timeout) as exc:
                raise WeComError(f"无法连接粤政易服务器（{type(exc).__name__}），消息未发出") from exc
            headers = {"Content-Type": content_type} if content_type else {}
            try:
                connection.request(method, url.path.rstrip("/") + path, body=body, headers=headers)
                answer = connection.getresponse()
                status, raw = answer.status, answer.read()
            except (OSError, socket.timeout, http.client.HTTPException) as exc:
                if delivers:
                    raise Unknown(f"发送后未收到粤政易应答（{self.timeout:g} 秒内），消息可能已送达") from exc
                raise WeComError("粤政易服务器未应答，请稍后重试") from exc
        finally:
            connection.close()
        try:
            reply = json.loads(raw)
            if not isinstance(reply, dict):
                raise ValueError
        except ValueError:
            if delivers and status == 200:
                raise Unknown("粤政易应答无法识别，消息可能已送达") from None
            raise WeComError(f"粤政易服务器返回 HTTP {status}，消息未发出") from None
        return reply


_clients: dict[tuple, Client] = {}


def client() -> Client:
    """One client per process and credentials, so the token is fetched once a warm function's life."""
    creds = credentials()
    key = (creds.base_url, creds.corpid, creds.agentid)
    if key not in _clients:
        _clients[key] = Client(creds)
    return _clients[key]


def missing(user_ids: list[str]) -> tuple[list[str], str | None]:
    """Which of these userids the 粤政易 directory does not have, asked one by one (user/get); when it
    cannot be asked, ([], why) — a caller decides whether that may wait."""
    try:
        found = client()
        return [u for u in user_ids if found.user(u) is None], None
    except (WeComError, Unknown) as exc:
        return [], exc.reason
