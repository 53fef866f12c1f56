"""The Tencent Cloud SMS client: one login code to one mainland number through SendSms (API 2021-01-11).

Why it exists: the AWS China regions offer no SNS SMS to Chinese numbers, so a stage there sends its codes
through Tencent Cloud. It speaks the API directly (plain urllib, TC3-HMAC-SHA256 signature v3) rather
than through Tencent's SDK, so the Lambda package gains no dependency.

What it decides, so the login service does not have to:
- success is `Response.SendStatusSet[0].Code == "Ok"`; `Response.Error` or any other code is a refusal,
  answered with a Chinese sentence for the head (and 运维), while the raw code and RequestId are logged;
- a per-phone limit is a RateLimitedError, a number Tencent will not deliver to a ValidationError on the
  phone field, everything else (keys, balance, 签名 / 模板 not approved, transport) SmsUnavailableError;
- a connection that could not be opened sent nothing; an answer lost after the request went out may mean
  the code did arrive, and the head is told so rather than invited to guess.

Its settings are the stage's SMS secret (integrations/sms.py reads it): secret_id, secret_key, sdk_app_id,
sign_name, template_id, and optionally region (ap-guangzhou), endpoint (tests point it at a stand-in) and
template_params (which values fill the template's {1}, {2}…: "code", "valid_days"; default ["code"]).
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from chalicelib.config import settings
from chalicelib.errors import RateLimitedError, SmsUnavailableError, ValidationError

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://sms.tencentcloudapi.com"
SERVICE, ACTION, VERSION = "sms", "SendSms", "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host"  # the two the documentation requires; more would add nothing here
TIMEOUT_SECONDS = 5  # the head waits on the login page; API Gateway itself gives up at 29 s
REQUIRED = ("secret_id", "secret_key", "sdk_app_id", "sign_name", "template_id")
TEMPLATE_VALUES = ("code", "valid_days")

NOT_SENT = "验证码未发出，请联系系统运维人员"
# Tencent's codes (SendSms "错误码", cloud.tencent.com/document/api/382/55981) → (answer, sentence).
REFUSALS: dict[str, tuple[str, str]] = {
    "LimitExceeded.PhoneNumberDailyLimit": ("limit", "该号码今日接收短信次数已达上限，请明天再试"),
    "LimitExceeded.PhoneNumberOneHourLimit": ("limit", "该号码一小时内接收短信次数已达上限，请稍后再试"),
    "LimitExceeded.PhoneNumberThirtySecondLimit": ("limit", "验证码发送过于频繁，请稍后再试"),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": ("limit", "该号码今日接收短信次数已达上限，请明天再试"),
    "LimitExceeded.DeliveryFrequencyLimit": ("limit", "验证码发送过于频繁，请稍后再试"),
    "InvalidParameterValue.IncorrectPhoneNumber": ("phone", "该手机号码无法接收短信，请核对号码"),
    "FailedOperation.PhoneNumberInBlacklist": ("phone", "该号码已退订短信或在免打扰名单中，无法接收验证码，请联系所属委办局或镇街"),
    "FailedOperation.InsufficientBalanceInSmsPackage": ("down", "短信服务余额不足，" + NOT_SENT),
    "FailedOperation.SignatureIncorrectOrUnapproved": ("down", "短信签名未审核通过或填写有误，" + NOT_SENT),
    "FailedOperation.TemplateIncorrectOrUnapproved": ("down", "短信模板未审核通过或与发送内容不符，" + NOT_SENT),
    "InvalidParameterValue.TemplateParameterFormatError": ("down", "短信模板参数与模板不符，" + NOT_SENT),
    "InvalidParameterValue.TemplateParameterLengthLimit": ("down", "短信模板参数与模板不符，" + NOT_SENT),
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": ("down", "短信应用编号配置有误，" + NOT_SENT),
    "InvalidParameterValue.SdkAppIdNotExist": ("down", "短信应用编号配置有误，" + NOT_SENT),
    "FailedOperation.ContainSensitiveWord": ("down", "短信内容被判定含敏感词，" + NOT_SENT),
    "AuthFailure.SignatureExpire": ("down", "服务器时间与短信服务相差过大，" + NOT_SENT),
    "UnauthorizedOperation.RequestIpNotInWhitelist": ("down", "短信服务开启了来源地址白名单，" + NOT_SENT),
}
FAMILIES = {  # a code not listed above, by its family
    "AuthFailure": "短信服务密钥无效或已停用，" + NOT_SENT,
    "RequestLimitExceeded": "短信服务繁忙，验证码未发出，请稍后重试",
    "InternalError": "短信服务暂时故障，验证码未发出，请稍后重试",
}
REFUSED = "短信发送失败，验证码未发出，请稍后重试或联系系统运维人员"


# --- TC3-HMAC-SHA256 (Tencent Cloud API signature v3) --------------------------------------------------


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def canonical_request(host: str, payload: bytes, content_type: str = CONTENT_TYPE) -> str:
    """POST to "/", no query string, the signed headers lower-cased and sorted, the body's hash."""
    headers = f"content-type:{content_type}\nhost:{host}\n"
    return "\n".join(("POST", "/", "", headers, SIGNED_HEADERS, _sha256(payload)))


def authorization(secret_id: str, secret_key: str, *, service: str, host: str, payload: bytes, timestamp: int,
                  content_type: str = CONTENT_TYPE) -> str:
    """The Authorization header. The date is the timestamp's UTC day: a local (UTC+8) date fails every
    request made between 00:00 and 08:00 Beijing time."""
    day = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    scope = f"{day}/{service}/tc3_request"
    string_to_sign = "\n".join(("TC3-HMAC-SHA256", str(timestamp), scope,
                                _sha256(canonical_request(host, payload, content_type).encode())))
    signing_key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode(), day), service), "tc3_request")
    signature = hmac.new(signing_key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, SignedHeaders={SIGNED_HEADERS}, Signature={signature}"


# --- the sender ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TencentConfig:
    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    template_id: str
    region: str = "ap-guangzhou"
    endpoint: str = DEFAULT_ENDPOINT
    template_params: tuple[str, ...] = ("code",)

    @classmethod
    def from_secret(cls, value: dict) -> "TencentConfig":
        """Raises ValueError naming what is missing or wrong (key names only: never a key's value)."""
        missing = [key for key in REQUIRED if not str(value.get(key) or "").strip()]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        params = value.get("template_params") or ["code"]
        if not isinstance(params, list) or not set(params) <= set(TEMPLATE_VALUES):
            raise ValueError(f"template_params must list some of {TEMPLATE_VALUES}")
        endpoint = str(value.get("endpoint") or DEFAULT_ENDPOINT)
        if not endpoint.startswith(("https://", "http://")):
            raise ValueError("endpoint must be an http(s) URL")
        return cls(*(str(value[key]).strip() for key in REQUIRED), region=str(value.get("region") or "ap-guangzhou"),
                   endpoint=endpoint.rstrip("/"), template_params=tuple(params))


class TencentSender:
    def __init__(self, config: TencentConfig, *, timeout: float = TIMEOUT_SECONDS, clock=time.time):
        self.config, self.timeout, self.clock = config, timeout, clock

    def send(self, phone: str, text: str, *, code: str) -> None:
        """`text` is what SNS would send; Tencent sends its approved template filled with the values."""
        values = {"code": code, "valid_days": str(settings().code_valid_days)}
        body = json.dumps({"PhoneNumberSet": [f"+86{phone}"], "SmsSdkAppId": self.config.sdk_app_id,
                           "SignName": self.config.sign_name, "TemplateId": self.config.template_id,
                           "TemplateParamSet": [values[name] for name in self.config.template_params]},
                          ensure_ascii=False, separators=(",", ":")).encode()
        reply = self._post(body)
        answer = reply.get("Response") if isinstance(reply, dict) else None
        if not isinstance(answer, dict):
            log.error("tencent sms: unrecognised answer %r", reply)
            raise SmsUnavailableError(REFUSED)
        error, statuses = answer.get("Error"), answer.get("SendStatusSet")
        first = statuses[0] if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict) else {}
        status = error if isinstance(error, dict) else first
        provider_code = str(status.get("Code") or "")
        if error is None and provider_code == "Ok":
            log.info("sms to %s sent (tencent %s)", phone[:3] + "****" + phone[-4:], status.get("SerialNo", ""))
            return
        log.error("tencent sms refused: %s %s (RequestId %s)", provider_code or "no code",
                  status.get("Message", ""), answer.get("RequestId", ""))
        raise refusal(provider_code)

    def _post(self, body: bytes) -> object:
        host = urlsplit(self.config.endpoint).netloc
        timestamp = int(self.clock())
        headers = {  # Host is set here, not by urllib, so the one signed is the one sent
            "Authorization": authorization(self.config.secret_id, self.config.secret_key, service=SERVICE,
                                           host=host, payload=body, timestamp=timestamp),
            "Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": ACTION, "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp), "X-TC-Region": self.config.region,
        }
        request = urllib.request.Request(self.config.endpoint + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                raw = answer.read()
        except urllib.error.HTTPError as exc:  # Tencent answers its errors with 200; anything else is a gateway's
            log.error("tencent sms: HTTP %s", exc.code)
            raise SmsUnavailableError(REFUSED) from exc
        except urllib.error.URLError as exc:  # the connection was never opened: nothing was sent
            log.error("tencent sms: cannot connect to %s: %s", host, exc.reason)
            raise SmsUnavailableError("无法连接短信服务，验证码未发出，请稍后重试") from exc
        except (OSError, http.client.HTTPException) as exc:  # the request went out, its answer was lost
            log.error("tencent sms: no answer within %ss: %r", self.timeout, exc)
            raise SmsUnavailableError("短信服务未及时应答，验证码可能已发出；如未收到，请一分钟后重新获取") from exc
        try:
            return json.loads(raw)
        except ValueError:
            log.error("tencent sms: answer is not JSON: %r", raw[:200])
            raise SmsUnavailableError(REFUSED) from None


def refusal(provider_code: str) -> Exception:
    """The domain error a Tencent code is answered with."""
    kind, sentence = REFUSALS.get(provider_code) or ("down", FAMILIES.get(provider_code.split(".")[0], REFUSED))
    if kind == "limit":
        return RateLimitedError(sentence)
    if kind == "phone":
        return ValidationError(sentence, fields={"phone": sentence})
    return SmsUnavailableError(sentence)
