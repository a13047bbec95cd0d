"""The Zalo Official Account's HTTP API, as the assistant uses it: consultation messages (text,
text with buttons, an uploaded image, a "request user info" card) to a user id, image uploads, and ZNS template messages to a
phone number.

Zalo answers HTTP 200 with ``{"error": 0, "message": "Success", "data": {...}}``; any other
``error`` becomes a :class:`ZaloApiError`, classified so that a caller knows what to do:

* ``-216`` (access token invalid) and ``-220`` (access token expired or removed): the token
  source refreshes once and the call is retried once; refused again, :class:`ZaloTokenRejected`
  (the pair is unusable: the OA must authorise the app again).
* ``-32`` ("Your application/OA reached limit call api", a per-minute limit):
  :class:`ZaloRateLimited`, ``retry_after`` 60 s. ``-211`` (out of quota) and ``-218`` (out of
  quota receive: the user's receiving limit): :class:`ZaloQuotaExceeded`, a
  :class:`ZaloRateLimited` with ``retry_after`` one hour. ``-234`` (this message type cannot be
  sent at night, 22:00-06:00): a :class:`ZaloRateLimited` until 06:00 Vietnam time. An HTTP 429
  is a :class:`ZaloRateLimited` too (its ``Retry-After``, or 60 s).
* ``-230`` (the user has not interacted with the OA in the past 7 days) and ``-232`` (not
  interacted, or the last interaction expired): :class:`ZaloOutsideWindow` — hold the message
  until the user writes again (or send a ZNS instead).
* ``-213`` (not following the OA), ``-217`` (blocked the OA's invitations), ``-227`` (banned or
  inactive for 45 days), ``-244`` (restricted this message type): :class:`ZaloUnreachable`.
* No answer (connection refused, reset, timed out) and HTTP 5xx: a :class:`ZaloApiError` with
  ``retryable=True`` and code :data:`NO_ANSWER`; ``uncertain=True`` when the request may have
  reached Zalo (a timeout or a dropped connection after sending), so a retry may deliver twice.
* Anything else (bad parameters, an expired ``attachment_id`` (-100), a disabled app...): a plain
  :class:`ZaloApiError`, not retryable.

Sources: Zalo's OA error table (developers.zalo.me "phu-luc/ma-loi", as mirrored on
docs.zaloplatforms.com and copied into several open-source clients) and ZNS's
(zalo.cloud/zns/guidelines/handle-error-code). What Zalo refuses and we can see beforehand —
text over 2000 characters, more than 5 buttons, a button title over 100 or payload over 1000
characters, an unknown button type — raises ``ValueError`` before anything is sent: the caller
splits the message.

Tokens and secrets are never logged, nor put in an exception's message (the access token travels
in a header, never in a URL); the log names the call and Zalo's error code, not the user's text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol

import aiohttp

from knowledge.workdays import VN_TZ

log = logging.getLogger(__name__)

API_BASE = "https://openapi.zalo.me"
BUSINESS_BASE = "https://business.openapi.zalo.me"
MESSAGE_PATH = "/v3.0/oa/message/cs"
UPLOAD_IMAGE_PATH = "/v2.0/oa/upload/image"
ZNS_PATH = "/message/template"

TEXT_LIMIT = 2000
BUTTONS_PER_MESSAGE = 5
BUTTON_TITLE_LIMIT = 100
BUTTON_PAYLOAD_LIMIT = 1000
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
IMAGE_LIMIT = 1024 * 1024  # bytes; Zalo's limit for an uploaded image
REQUEST_TITLE_LIMIT = 100  # characters of a "request user info" template's title ...
REQUEST_SUBTITLE_LIMIT = 500  # ... and of its subtitle

QUERY_SHOW = "oa.query.show"  # the payload comes back as the user's text (user_send_text)
OPEN_URL = "oa.open.url"
OPEN_PHONE = "oa.open.phone"
BUTTON_TYPES = frozenset({QUERY_SHOW, OPEN_URL, OPEN_PHONE})

NO_ANSWER = -1
"""The code of a :class:`ZaloApiError` without a Zalo answer (network error, HTTP 5xx, not JSON);
Zalo's own codes are 0 (success) and negative numbers from -32 on."""

TOKEN_CODES = frozenset({-216, -220})
RATE_LIMIT_CODES = frozenset({-32})
QUOTA_CODES = frozenset({-211, -218})
NIGHT_CODES = frozenset({-234})
OUTSIDE_WINDOW_CODES = frozenset({-230, -232})
UNREACHABLE_CODES = frozenset({-213, -217, -227, -244})

RATE_LIMIT_WAIT = 60.0  # seconds; Zalo's call limits are per minute
QUOTA_WAIT = 3600.0
MORNING = time(6, 0)  # when messages refused at night (-234) may go again, Vietnam time
MESSAGE_LIMIT = 200  # characters of Zalo's error message kept in an exception


class ZaloApiError(Exception):
    """Zalo refused a call (``code`` is Zalo's ``error``), or did not answer (:data:`NO_ANSWER`).

    ``retryable``: the same call may succeed later. ``uncertain``: the call may have been carried
    out although no answer came back. ``status``: the HTTP status, when there was one."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        retryable: bool = False,
        uncertain: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(f"Zalo error {code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.uncertain = uncertain
        self.status = status


class ZaloTokenRejected(ZaloApiError):
    """The access token was refused (-216, -220), and again after a refresh."""


class ZaloRateLimited(ZaloApiError):
    """Too many calls, or not now: try again after ``retry_after`` seconds."""

    def __init__(
        self, code: int, message: str, *, retry_after: float, status: int | None = None
    ) -> None:
        super().__init__(code, message, retryable=True, status=status)
        self.retry_after = retry_after


class ZaloQuotaExceeded(ZaloRateLimited):
    """The OA's quota (-211), or the user's receiving limit (-218), is used up for now."""


class ZaloOutsideWindow(ZaloApiError):
    """The user has not written to the OA recently enough (-230, -232): the message can go once
    they write again (or as a ZNS template message by phone)."""


class ZaloUnreachable(ZaloApiError):
    """The user cannot get this message from the OA (-213, -217, -227, -244)."""


def seconds_until_morning(now: datetime | None = None) -> float:
    """Seconds from ``now`` to the next 06:00 in Vietnam (when night-time refusals end)."""
    local = (now or datetime.now(VN_TZ)).astimezone(VN_TZ)
    morning = datetime.combine(local.date(), MORNING, VN_TZ)
    if morning <= local:
        morning = datetime.combine(local.date() + timedelta(days=1), MORNING, VN_TZ)
    return max(1.0, (morning - local).total_seconds())


def classify(code: int, message: str, *, status: int | None = None) -> ZaloApiError:
    """The exception for Zalo's ``error`` code (see the module's docstring)."""
    if code in TOKEN_CODES:
        return ZaloTokenRejected(code, message, status=status)
    if code in QUOTA_CODES:
        return ZaloQuotaExceeded(code, message, retry_after=QUOTA_WAIT, status=status)
    if code in RATE_LIMIT_CODES:
        return ZaloRateLimited(code, message, retry_after=RATE_LIMIT_WAIT, status=status)
    if code in NIGHT_CODES:
        return ZaloRateLimited(code, message, retry_after=seconds_until_morning(), status=status)
    if code in OUTSIDE_WINDOW_CODES:
        return ZaloOutsideWindow(code, message, status=status)
    if code in UNREACHABLE_CODES:
        return ZaloUnreachable(code, message, status=status)
    return ZaloApiError(code, message, status=status)


class TokenSource(Protocol):
    """Where the API gets the OA's access token (``bot.channels.zalo.tokens.ZaloTokens``)."""

    async def access_token(self) -> str: ...

    async def refresh(self, stale: str) -> str:
        """A new access token after Zalo refused ``stale``."""
        ...


@dataclass(frozen=True, slots=True)
class ZaloButton:
    """A button under a message: ``oa.query.show`` (``payload`` comes back as the user's text),
    ``oa.open.url`` (``payload`` is the URL) or ``oa.open.phone`` (``payload`` is the number)."""

    title: str
    type: str
    payload: str

    @classmethod
    def query(cls, title: str, payload: str) -> ZaloButton:
        return cls(title, QUERY_SHOW, payload)

    @classmethod
    def url(cls, title: str, url: str) -> ZaloButton:
        return cls(title, OPEN_URL, url)

    @classmethod
    def phone(cls, title: str, phone: str) -> ZaloButton:
        return cls(title, OPEN_PHONE, phone)

    def check(self) -> None:
        """ValueError for what Zalo would refuse."""
        if self.type not in BUTTON_TYPES:
            raise ValueError(f"unknown Zalo button type {self.type!r}")
        if not self.title.strip() or len(self.title) > BUTTON_TITLE_LIMIT:
            raise ValueError(f"a Zalo button title has 1 to {BUTTON_TITLE_LIMIT} characters")
        if not self.payload or len(self.payload) > BUTTON_PAYLOAD_LIMIT:
            raise ValueError(f"a Zalo button payload has 1 to {BUTTON_PAYLOAD_LIMIT} characters")
        if self.type == OPEN_URL and not self.payload.startswith(("https://", "http://")):
            raise ValueError("an oa.open.url button needs an http(s) URL")

    def as_json(self) -> dict[str, Any]:
        payload: str | dict[str, str] = self.payload
        if self.type == OPEN_URL:
            payload = {"url": self.payload}
        elif self.type == OPEN_PHONE:
            payload = {"phone_code": self.payload}
        return {"title": self.title, "type": self.type, "payload": payload}


def _check_text(text: str, *, required: bool = True) -> None:
    if required and not text.strip():
        raise ValueError("a Zalo message needs text")
    if len(text) > TEXT_LIMIT:
        raise ValueError(f"a Zalo message has at most {TEXT_LIMIT} characters ({len(text)} given)")


def _check_user(user_id: str) -> None:
    if not user_id or not user_id.isdigit():
        raise ValueError("a Zalo user id is a string of digits")


def zns_phone(phone: str) -> str:
    """A Vietnamese phone number as ZNS takes it: ``84`` and the subscriber number
    ("0912 345 678", "+84912345678" and "84912345678" all give "84912345678")."""
    digits = re.sub(r"[\s.\-()]", "", phone)
    if digits.startswith("+"):
        digits = digits[1:]
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    if not (digits.isdigit() and digits.startswith("84") and 10 <= len(digits) <= 12):
        raise ValueError("not a Vietnamese phone number")
    return digits


BodyFactory = Callable[[], dict[str, Any]]
"""The keyword arguments of one POST (``json=`` or ``data=``), made afresh for each attempt (an
aiohttp FormData can be sent only once)."""


class ZaloApi:
    """The OA's HTTP API over one ``aiohttp.ClientSession``; base URLs from the settings (the
    tests point them at the stand-in server, ``tests/tools/zalo_server.py``)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        tokens: TokenSource,
        *,
        api_base: str = API_BASE,
        business_base: str = BUSINESS_BASE,
        timeout: float = 20.0,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.api_base = api_base.rstrip("/")
        self.business_base = business_base.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    # --- messages --------------------------------------------------------------------------

    async def send_text(self, user_id: str, text: str) -> str:
        """Send a consultation text message; Zalo's message id."""
        _check_user(user_id)
        _check_text(text)
        return await self._send_message("send_text", user_id, {"text": text})

    async def send_buttons(self, user_id: str, text: str, buttons: Sequence[ZaloButton]) -> str:
        """Send text with up to 5 buttons under it; Zalo's message id."""
        _check_user(user_id)
        _check_text(text)
        if not buttons or len(buttons) > BUTTONS_PER_MESSAGE:
            raise ValueError(f"a Zalo message has 1 to {BUTTONS_PER_MESSAGE} buttons")
        for button in buttons:
            button.check()
        message = {
            "text": text,
            "attachment": {
                "type": "template",
                "payload": {"buttons": [button.as_json() for button in buttons]},
            },
        }
        return await self._send_message("send_buttons", user_id, message)

    async def send_image(self, user_id: str, attachment_id: str, text: str | None = None) -> str:
        """Send an uploaded image (:meth:`upload_image`), with optional text; Zalo's message id."""
        _check_user(user_id)
        if not attachment_id:
            raise ValueError("an attachment id is needed")
        message: dict[str, Any] = {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "attachment_id": attachment_id}],
                },
            }
        }
        if text:
            _check_text(text)
            message["text"] = text
        return await self._send_message("send_image", user_id, message)

    async def send_request_user_info(
        self, user_id: str, title: str, subtitle: str, image_url: str
    ) -> str:
        """Send a "request user info" template: a card with Zalo's own button that opens a form
        (name, phone, address) whose answer comes back as a ``user_submit_info`` event. Only
        OAs whose tier has the feature may send it. Title 1 to 100 characters, subtitle 1 to
        500, ``image_url`` an http(s) link to a PNG or JPEG; Zalo's message id."""
        _check_user(user_id)
        if not title.strip() or len(title) > REQUEST_TITLE_LIMIT:
            raise ValueError(f"a request-user-info title has 1 to {REQUEST_TITLE_LIMIT} characters")
        if not subtitle.strip() or len(subtitle) > REQUEST_SUBTITLE_LIMIT:
            raise ValueError(
                f"a request-user-info subtitle has 1 to {REQUEST_SUBTITLE_LIMIT} characters"
            )
        if not image_url.startswith(("https://", "http://")):
            raise ValueError("a request-user-info image needs an http(s) URL")
        message = {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "request_user_info",
                    "elements": [{"title": title, "subtitle": subtitle, "image_url": image_url}],
                },
            }
        }
        return await self._send_message("send_request_user_info", user_id, message)

    async def upload_image(self, data: bytes, filename: str, content_type: str) -> str:
        """Upload a PNG or JPEG image (at most 1 MB); the ``attachment_id`` to send it with."""
        if content_type not in IMAGE_TYPES:
            raise ValueError("Zalo takes PNG and JPEG images")
        if not data or len(data) > IMAGE_LIMIT:
            raise ValueError(f"a Zalo image has 1 to {IMAGE_LIMIT} bytes")

        def body() -> dict[str, Any]:
            form = aiohttp.FormData()
            form.add_field("file", data, filename=filename, content_type=content_type)
            return {"data": form}

        answer = await self._call("upload_image", self.api_base + UPLOAD_IMAGE_PATH, body)
        return self._id(answer, "attachment_id", "upload_image")

    async def send_zns(
        self,
        phone: str,
        template_id: str,
        template_data: Mapping[str, Any],
        tracking_id: str,
    ) -> str:
        """Send a ZNS template message to a phone number (outside the reply window too); the
        ZNS message id. ``tracking_id`` is ours, echoed in Zalo's delivery events."""
        if not template_id or not tracking_id:
            raise ValueError("a ZNS message needs a template id and a tracking id")
        payload = {
            "phone": zns_phone(phone),
            "template_id": template_id,
            "template_data": dict(template_data),
            "tracking_id": tracking_id,
        }
        answer = await self._call(
            "send_zns", self.business_base + ZNS_PATH, lambda: {"json": payload}
        )
        return self._id(answer, "msg_id", "send_zns")

    async def _send_message(self, name: str, user_id: str, message: dict[str, Any]) -> str:
        payload = {"recipient": {"user_id": user_id}, "message": message}
        answer = await self._call(name, self.api_base + MESSAGE_PATH, lambda: {"json": payload})
        return self._id(answer, "message_id", name)

    @staticmethod
    def _id(data: Mapping[str, Any], key: str, name: str) -> str:
        value = data.get(key)
        if not value:
            log.warning("zalo %s: the answer has no %s", name, key)
            return ""
        return str(value)

    # --- the calls ---------------------------------------------------------------------------

    async def _call(self, name: str, url: str, body: BodyFactory) -> dict[str, Any]:
        """POST with the current access token; after a token refusal, once more with a fresh
        one. The answer's ``data``."""
        token = await self.tokens.access_token()
        try:
            return await self._post(name, url, token, body)
        except ZaloTokenRejected as exc:
            log.info("zalo %s: access token refused (error %s); refreshing", name, exc.code)
        token = await self.tokens.refresh(token)
        try:
            return await self._post(name, url, token, body)
        except ZaloTokenRejected as exc:
            log.warning("zalo %s: access token refused after a refresh (error %s)", name, exc.code)
            raise

    async def _post(self, name: str, url: str, token: str, body: BodyFactory) -> dict[str, Any]:
        try:
            async with self.http.post(
                url, headers={"access_token": token}, timeout=self.timeout, **body()
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                raw = await response.read()
        except aiohttp.ClientConnectorError as exc:
            log.warning("zalo %s: cannot connect (%s)", name, type(exc).__name__)
            raise ZaloApiError(
                NO_ANSWER, f"cannot connect ({type(exc).__name__})", retryable=True
            ) from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("zalo %s: no answer (%s)", name, type(exc).__name__)
            raise ZaloApiError(
                NO_ANSWER, f"no answer ({type(exc).__name__})", retryable=True, uncertain=True
            ) from None
        log.debug("zalo %s: HTTP %s", name, status)
        try:
            return self._data(status, raw, retry_after, token)
        except ZaloTokenRejected:
            raise  # _call refreshes, and logs what happens then
        except ZaloApiError as exc:
            log.warning("zalo %s: %s (HTTP %s)", name, _kind(exc), status)
            raise

    @staticmethod
    def _data(status: int, raw: bytes, retry_after: str | None, token: str) -> dict[str, Any]:
        """The ``data`` of Zalo's answer, or the exception its ``error`` (or status) means."""
        if status == 429:
            wait = float(retry_after) if retry_after and retry_after.isdigit() else RATE_LIMIT_WAIT
            raise ZaloRateLimited(NO_ANSWER, "HTTP 429", retry_after=wait, status=status)
        if status >= 500:
            # a gateway's 502/504 may come after Zalo took the message: not sent again
            uncertain = status in (502, 504)
            raise ZaloApiError(
                NO_ANSWER, f"HTTP {status}", retryable=True, uncertain=uncertain, status=status
            )
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ZaloApiError(NO_ANSWER, f"HTTP {status}, not a Zalo answer", status=status)
        try:
            code = int(answer.get("error") or 0)
        except (TypeError, ValueError):
            code = NO_ANSWER
        if code != 0:
            message = str(answer.get("message") or "")[:MESSAGE_LIMIT]
            raise classify(code, message.replace(token, "***") if token else message, status=status)
        if status != 200:
            raise ZaloApiError(NO_ANSWER, f"HTTP {status}", status=status)
        data = answer.get("data")
        return data if isinstance(data, dict) else {}


def _kind(exc: ZaloApiError) -> str:
    """What a log line says of a refusal: its class and code, not Zalo's words."""
    return f"{type(exc).__name__} (error {exc.code})"
