"""The local 粤政易 stand-in speaks the WeCom protocol the notifier will use."""
from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from local.wecom import WeComStandIn


@pytest.fixture
def wecom():
    stand_in = WeComStandIn()
    base = stand_in.start(0)
    yield stand_in, base
    stand_in.stop()


def _get(url):
    with urllib.request.urlopen(url) as answer:
        return json.load(answer)


def _post(url, data: bytes, content_type="application/json"):
    request = urllib.request.Request(url, data=data, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request) as answer:
        return json.load(answer)


def test_token_upload_and_send(wecom):
    stand_in, base = wecom
    assert _get(f"{base}/cgi-bin/gettoken?corpid=local-corp&corpsecret=wrong")["errcode"] == 40001
    token = _get(f"{base}/cgi-bin/gettoken?corpid=local-corp&corpsecret=local-secret")["access_token"]
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"未按规定检测人员.xlsx\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + b"PK\x03\x04 xlsx bytes" + f"\r\n--{boundary}--\r\n".encode()
    media = _post(f"{base}/cgi-bin/media/upload?access_token={token}&type=file", body,
                  f"multipart/form-data; boundary={boundary}")
    assert media["errcode"] == 0
    sent = _post(f"{base}/cgi-bin/message/send?access_token={token}", json.dumps(
        {"touser": "zhuanban|nobody", "msgtype": "file", "agentid": 1000002, "file": {"media_id": media["media_id"]}}).encode())
    assert sent == {"errcode": 0, "errmsg": "ok", "invaliduser": "nobody"}
    outbox = _get(f"{base}/_outbox")["items"]
    assert outbox[0]["to"] == ["zhuanban"] and outbox[0]["filename"] == "未按规定检测人员.xlsx"


def test_errors_by_code(wecom):
    stand_in, base = wecom
    assert _post(f"{base}/cgi-bin/message/send?access_token=bad", b"{}")["errcode"] == 40014
    token = _get(f"{base}/cgi-bin/gettoken?corpid=local-corp&corpsecret=local-secret")["access_token"]
    send = lambda body: _post(f"{base}/cgi-bin/message/send?access_token={token}", json.dumps(body).encode())  # noqa: E731
    assert send({"touser": "nobody", "msgtype": "text", "agentid": 1000002, "text": {"content": "x"}})["errcode"] == 81013
    assert send({"touser": "zhuanban", "msgtype": "text", "agentid": 1000002,
                 "text": {"content": "字" * 700}})["errcode"] == 44004  # over 2048 bytes
    stand_in.tokens[token] = 0
    assert send({"touser": "zhuanban", "msgtype": "text", "agentid": 1000002, "text": {"content": "x"}})["errcode"] == 42001
