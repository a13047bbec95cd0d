"""A stand-in Zalo server on loopback, for tests of the Zalo channel over real HTTP.

One aiohttp app serves what the assistant calls, so a test passes its ``base_url`` as the API,
the ZNS ("business") and the OAuth base alike:

* ``POST /v3.0/oa/message/cs`` — consultation messages: text, text with buttons, an uploaded image,
  a "request user info" card (``template_type: request_user_info``, one element with a title of
  1-100 and a subtitle of 1-500 characters and an http(s) ``image_url`` to a PNG or JPEG; no text);
* ``POST /v2.0/oa/upload/image`` — multipart field ``file`` (PNG or JPEG, at most 1 MB);
* ``POST /message/template`` — ZNS template messages by phone number;
* ``POST /v4/oa/access_token`` — OAuth v4, ``grant_type=refresh_token`` with header ``secret_key``.

It answers like Zalo: HTTP 200 with ``{"error": 0, "message": "Success", "data": {...}}``, or a
non-zero ``error``. The ``access_token`` header is checked against the one valid access token
(-216 otherwise); each refresh issues a new pair, invalidates the old access token and spends the
refresh token (a spent one is refused, and counted in ``refresh_reuses``). It checks what Zalo
checks: the message's shape (-201), its limits (-210: text over 2000 characters, more than 5
buttons, a title over 100 or a payload over 1000 characters), the button types, that an image's
``attachment_id`` was uploaded, ZNS phone numbers (-108) and template ids (-109). Every call is
recorded, decoded (JSON, form fields, uploaded files), with the error it got.

Tests script the rest: ``expire_access_token()`` (-216 on the next call), ``fail_next(path,
code=-32, times=N)`` (any Zalo error for the next N calls), ``fail_next_http(path, status=502)``
(a 5xx without a Zalo answer), ``drop_next(path)`` (the connection closed without an answer),
``oauth_delay`` (a slow OAuth server, to make two refreshes overlap). The OAuth error codes
(-140xx) are stand-ins: Zalo's own for a spent refresh token is not documented where we could
read it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MESSAGE_PATH = "/v3.0/oa/message/cs"
UPLOAD_IMAGE_PATH = "/v2.0/oa/upload/image"
ZNS_PATH = "/message/template"
OAUTH_PATH = "/v4/oa/access_token"

TEXT_LIMIT = 2000
BUTTONS_LIMIT = 5
TITLE_LIMIT = 100
PAYLOAD_LIMIT = 1000
REQUEST_TITLE_LIMIT = 100
REQUEST_SUBTITLE_LIMIT = 500
IMAGE_LIMIT = 1024 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png")
BUTTON_TYPES = ("oa.query.show", "oa.open.url", "oa.open.phone")

INVALID_TOKEN = (-216, "Access token is invalid")
EXPIRED_TOKEN = (-220, "access_token is expired or removed")
RATE_LIMITED = (-32, "Your application reached limit call api")
OUT_OF_QUOTA = (-211, "Out of quota")
NOT_INTERACTED = (-230, "User has not interacted with the OA in the past 7 days")
DEFAULT_MESSAGES = dict([INVALID_TOKEN, EXPIRED_TOKEN, RATE_LIMITED, OUT_OF_QUOTA, NOT_INTERACTED])

# OAuth refusals (stand-in codes in Zalo's -140xx range)
OAUTH_BAD_SECRET = -14001
OAUTH_BAD_APP = -14002
OAUTH_BAD_GRANT = -14003
OAUTH_BAD_REFRESH = -14014


class Refused(Exception):
    """What a handler raises for a Zalo error answer."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UploadedFile:
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request as the server saw it, and what it answered."""

    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)
    error: int = 0
    message: str = "Success"
    status: int = 200  # the HTTP status answered; 0 when the connection was dropped
    data: dict[str, Any] | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error == 0


@dataclass(frozen=True)
class SentMessage:
    """A consultation message the server accepted."""

    user_id: str
    message_id: str
    text: str | None
    buttons: tuple[dict[str, Any], ...] = ()
    attachment_id: str | None = None  # an image's
    request_user_info: dict[str, Any] | None = None  # a "request user info" card's element

    @property
    def button_titles(self) -> list[str]:
        return [b["title"] for b in self.buttons]


@dataclass
class Failure:
    """A scripted answer to the next ``times`` calls of ``path``."""

    path: str
    code: int | None  # a Zalo error (HTTP 200); None with ``status``/``drop``
    message: str = ""
    status: int = 200
    drop: bool = False
    times: int = 1


def _token() -> str:
    return secrets.token_urlsafe(48)


@dataclass
class FakeZalo:
    app_id: str = "4318905421739551234"
    app_secret: str = field(default_factory=lambda: "app-" + secrets.token_urlsafe(18))
    oauth_delay: float = 0.0  # seconds the OAuth server takes to answer
    expires_in: str = "90000"  # what a refresh answers (Zalo sends a string)

    def __post_init__(self) -> None:
        self.access_token: str | None = _token()
        self.refresh_token = _token()
        self.issued: set[str] = {self.access_token, self.refresh_token, self.app_secret}
        self.spent: set[str] = set()
        self.refreshes = 0  # successful refreshes
        self.refresh_reuses = 0  # refreshes attempted with an already spent refresh token
        self.calls_seen: list[Call] = []
        self.sent: list[SentMessage] = []
        self.zns: list[dict[str, Any]] = []
        self.uploads: dict[str, UploadedFile] = {}
        self.templates: dict[str, set[str]] | None = None  # template id -> its parameters
        self.failures: list[Failure] = []
        self._expired_code = INVALID_TOKEN
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- server ----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(client_max_size=4 * IMAGE_LIMIT)
        app.router.add_post(MESSAGE_PATH, self._route(self._message))
        app.router.add_post(UPLOAD_IMAGE_PATH, self._route(self._upload))
        app.router.add_post(ZNS_PATH, self._route(self._zns))
        app.router.add_post(OAUTH_PATH, self._oauth)
        # no access log: the headers carry tokens
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def pair(self) -> tuple[str, str]:
        """The valid access token and refresh token, to seed the token manager with."""
        assert self.access_token is not None
        return self.access_token, self.refresh_token

    async def _record(self, request: web.Request) -> Call:
        call = Call(path=request.path, headers=dict(request.headers))
        if request.content_type == "application/json":
            body = await request.read()
            try:
                call.json = json.loads(body) if body else None
            except ValueError:
                call.json = None
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    call.files[key] = UploadedFile(
                        value.filename, value.content_type, value.file.read()
                    )
                else:
                    call.form[key] = str(value)
        self.calls_seen.append(call)
        return call

    def _route(self, handler: Callable[[Call], dict[str, Any]]) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            call = await self._record(request)
            failure = self._scripted(call.path)
            try:
                if failure is not None:
                    if failure.drop or failure.status != 200:
                        return self._broken(request, call, failure)
                    raise Refused(failure.code or -1, failure.message)
                self._check_token(call)
                call.data = handler(call)
            except Refused as exc:
                call.error, call.message = exc.code, exc.message
                self._notify()
                return web.json_response({"error": exc.code, "message": exc.message})
            self._notify()
            return web.json_response({"error": 0, "message": "Success", "data": call.data})

        return serve

    def _scripted(self, path: str) -> Failure | None:
        for failure in self.failures:
            if failure.times > 0 and failure.path == path:
                failure.times -= 1
                return failure
        return None

    def _broken(self, request: web.Request, call: Call, failure: Failure) -> web.Response:
        self._notify()
        if failure.drop:
            call.status, call.error, call.message = 0, -1, "connection dropped"
            if request.transport is not None:
                request.transport.close()  # the client sees "Server disconnected"
            return web.Response(status=500)  # never reaches the client
        call.status, call.error, call.message = failure.status, -1, f"HTTP {failure.status}"
        return web.Response(status=failure.status, text=f"{failure.status} Server Error")

    def _check_token(self, call: Call) -> None:
        given = call.headers.get("access_token")
        if given is None or given != self.access_token:
            raise Refused(*self._expired_code)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _message_id(self) -> str:
        return f"{next(self._ids):08x}" + secrets.token_hex(12)

    # --- scripted failures -------------------------------------------------------------------

    def expire_access_token(self, *, code: int = -216) -> None:
        """The current access token stops working: the next call gets ``code`` (-216 by
        default; -220 is Zalo's "expired or removed"). The refresh token still works."""
        self.access_token = None
        self._expired_code = EXPIRED_TOKEN if code == -220 else INVALID_TOKEN

    def fail_next(
        self, path: str, *, code: int = -32, message: str | None = None, times: int = 1
    ) -> Failure:
        """Answer the next ``times`` calls of ``path`` with Zalo error ``code`` (-32: the rate
        limit; -211: out of quota; -230: the user has not interacted for 7 days...)."""
        text = message if message is not None else DEFAULT_MESSAGES.get(code, f"Error {code}")
        failure = Failure(path=path, code=code, message=text, times=times)
        self.failures.append(failure)
        return failure

    def fail_next_http(self, path: str, *, status: int = 502, times: int = 1) -> Failure:
        """Answer the next ``times`` calls of ``path`` with HTTP ``status`` and no Zalo answer."""
        failure = Failure(path=path, code=None, status=status, times=times)
        self.failures.append(failure)
        return failure

    def drop_next(self, path: str, *, times: int = 1) -> Failure:
        """Close the connection of the next ``times`` calls of ``path`` without answering."""
        failure = Failure(path=path, code=None, drop=True, times=times)
        self.failures.append(failure)
        return failure

    # --- what tests read ---------------------------------------------------------------------

    def calls(self, path: str | None = None) -> list[Call]:
        """Every call (to ``path`` only, when given), in order."""
        return [c for c in self.calls_seen if path is None or c.path == path]

    def messages(self, user_id: str) -> list[SentMessage]:
        """The consultation messages accepted for ``user_id``, buttons included."""
        return [m for m in self.sent if m.user_id == user_id]

    def texts(self, user_id: str) -> list[str]:
        """The texts of the messages accepted for ``user_id``."""
        return [m.text for m in self.messages(user_id) if m.text is not None]

    def issued_secrets(self) -> set[str]:
        """Every token the server issued, and the app secret: none may appear in a log."""
        return set(self.issued)

    async def wait_for_messages(
        self, user_id: str, count: int = 1, *, timeout: float = 5.0
    ) -> list[SentMessage]:
        """The first ``count`` messages accepted for ``user_id``, once they have arrived."""
        deadline = time.monotonic() + timeout
        while len(self.messages(user_id)) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{len(self.messages(user_id))} of {count} messages for {user_id} within "
                    f"{timeout}s; calls: {[(c.path, c.error) for c in self.calls_seen]}"
                )
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass
        return self.messages(user_id)[:count]

    # --- the OA API --------------------------------------------------------------------------

    def _message(self, call: Call) -> dict[str, Any]:
        body = call.json if isinstance(call.json, dict) else {}
        recipient = body.get("recipient")
        user_id = recipient.get("user_id") if isinstance(recipient, dict) else None
        if not (isinstance(user_id, str) and user_id.isdigit()):
            raise Refused(-201, "user_id is invalid!")
        message = body.get("message")
        if not isinstance(message, dict) or not (message.get("text") or message.get("attachment")):
            raise Refused(-201, "message is invalid!")
        text = message.get("text")
        if text is not None and (not isinstance(text, str) or not text.strip()):
            raise Refused(-201, "text is invalid!")
        if isinstance(text, str) and len(text) > TEXT_LIMIT:
            raise Refused(-210, "Parameter exceeds allowable limit")
        buttons: tuple[dict[str, Any], ...] = ()
        attachment_id = None
        card = None
        if _template_type(message.get("attachment")) == "request_user_info":
            card = _request_user_info(message["attachment"], text)
        elif "attachment" in message:
            buttons, attachment_id = self._attachment(message["attachment"], text)
        sent = SentMessage(user_id, self._message_id(), text, buttons, attachment_id, card)
        self.sent.append(sent)
        return {"message_id": sent.message_id, "user_id": user_id}

    def _attachment(
        self, attachment: Any, text: str | None
    ) -> tuple[tuple[dict[str, Any], ...], str | None]:
        if not isinstance(attachment, dict) or attachment.get("type") != "template":
            raise Refused(-201, "attachment is invalid!")
        payload = attachment.get("payload")
        if not isinstance(payload, dict):
            raise Refused(-201, "payload is invalid!")
        if payload.get("template_type") == "media":
            elements = payload.get("elements")
            if not (isinstance(elements, list) and len(elements) == 1):
                raise Refused(-201, "elements is invalid!")
            element = elements[0]
            if not isinstance(element, dict) or element.get("media_type") != "image":
                raise Refused(-201, "media_type is invalid!")
            if element.get("attachment_id") not in self.uploads:
                raise Refused(-201, "attachment_id is invalid!")
            return (), str(element["attachment_id"])
        if text is None:
            raise Refused(-201, "text is invalid!")
        buttons = payload.get("buttons")
        if not isinstance(buttons, list) or not buttons:
            raise Refused(-201, "buttons is invalid!")
        if len(buttons) > BUTTONS_LIMIT:
            raise Refused(-210, "Parameter exceeds allowable limit")
        for button in buttons:
            _check_button(button)
        return tuple(buttons), None

    def _upload(self, call: Call) -> dict[str, Any]:
        upload = call.files.get("file")
        if upload is None or not upload.data:
            raise Refused(-201, "file is invalid!")
        if upload.content_type not in IMAGE_TYPES:
            raise Refused(-201, "file is invalid. We only support png and jpeg")
        if len(upload.data) > IMAGE_LIMIT:
            raise Refused(-210, "Parameter exceeds allowable limit")
        attachment_id = secrets.token_urlsafe(24)
        self.uploads[attachment_id] = upload
        return {"attachment_id": attachment_id}

    def _zns(self, call: Call) -> dict[str, Any]:
        body = call.json if isinstance(call.json, dict) else {}
        phone = body.get("phone")
        if not (isinstance(phone, str) and phone.isdigit() and phone.startswith("84")):
            raise Refused(-108, "Phone number invalid")
        template_id = body.get("template_id")
        if not template_id or (self.templates is not None and template_id not in self.templates):
            raise Refused(-109, "Template ID invalid")
        data = body.get("template_data")
        if not isinstance(data, dict) or not data:
            raise Refused(-111, "Template data empty")
        if self.templates is not None and set(data) != self.templates[template_id]:
            raise Refused(-112, "Template data invalid")
        if not body.get("tracking_id"):
            raise Refused(-201, "tracking_id is invalid!")
        msg_id = self._message_id()
        self.zns.append({**body, "msg_id": msg_id})
        return {
            "msg_id": msg_id,
            "sent_time": str(int(time.time() * 1000)),
            "quota": {"dailyQuota": "500", "remainingQuota": str(500 - len(self.zns))},
        }

    # --- OAuth -------------------------------------------------------------------------------

    async def _oauth(self, request: web.Request) -> web.Response:
        call = await self._record(request)
        if self.oauth_delay:
            await asyncio.sleep(self.oauth_delay)
        failure = self._scripted(call.path)
        if failure is not None and (failure.drop or failure.status != 200):
            return self._broken(request, call, failure)
        if failure is not None:
            answer = _oauth_error(failure.code or -1, failure.message or "Scripted failure")
        else:
            answer = self._refresh(call)
        if "error" in answer:
            call.error, call.message = int(answer["error"]), str(answer["error_name"])
        self._notify()
        return web.json_response(answer)

    def _refresh(self, call: Call) -> dict[str, Any]:
        """Spend the refresh token (once), issue a new pair, retire the old access token."""
        if call.headers.get("secret_key") != self.app_secret:
            return _oauth_error(OAUTH_BAD_SECRET, "Invalid secret key")
        if call.form.get("app_id") != self.app_id:
            return _oauth_error(OAUTH_BAD_APP, "Invalid app_id")
        if call.form.get("grant_type") != "refresh_token":
            return _oauth_error(OAUTH_BAD_GRANT, "Invalid grant_type")
        given = call.form.get("refresh_token", "")
        if given in self.spent:
            self.refresh_reuses += 1
        if given != self.refresh_token:
            return _oauth_error(OAUTH_BAD_REFRESH, "Invalid refresh token")
        self.spent.add(given)
        self.access_token, self.refresh_token = _token(), _token()
        self.issued |= {self.access_token, self.refresh_token}
        self.refreshes += 1
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
        }


class CurrentToken:
    """A token source (``bot.channels.zalo.api.TokenSource``) that always has the stand-in's
    valid access token, for tests of the API that are not about the token manager."""

    def __init__(self, fake: FakeZalo) -> None:
        self.fake = fake
        self.refreshes = 0

    async def access_token(self) -> str:
        return self.fake.access_token or "expired"

    async def refresh(self, stale: str) -> str:
        self.refreshes += 1
        return self.fake.access_token or "expired"


def _oauth_error(code: int, name: str) -> dict[str, Any]:
    return {
        "error": code,
        "error_name": name,
        "error_reason": name,
        "error_description": name,
    }


def _template_type(attachment: Any) -> Any:
    if isinstance(attachment, dict) and isinstance(attachment.get("payload"), dict):
        return attachment["payload"].get("template_type")
    return None


def _request_user_info(attachment: dict[str, Any], text: str | None) -> dict[str, Any]:
    """The element of a "request user info" card, refused like Zalo refuses a bad one."""
    if attachment.get("type") != "template" or text is not None:
        raise Refused(-201, "attachment is invalid!")
    elements = attachment["payload"].get("elements")
    if not (isinstance(elements, list) and len(elements) == 1 and isinstance(elements[0], dict)):
        raise Refused(-201, "elements is invalid!")
    element = elements[0]
    title, subtitle, image = element.get("title"), element.get("subtitle"), element.get("image_url")
    for value, limit in ((title, REQUEST_TITLE_LIMIT), (subtitle, REQUEST_SUBTITLE_LIMIT)):
        if not isinstance(value, str) or not value.strip():
            raise Refused(-201, "title or subtitle is invalid!")
        if len(value) > limit:
            raise Refused(-210, "Parameter exceeds allowable limit")
    if not (
        isinstance(image, str)
        and image.startswith(("http://", "https://"))
        and image.lower().split("?")[0].endswith((".png", ".jpg", ".jpeg"))
    ):
        raise Refused(-201, "image_url is invalid!")
    if set(element) - {"title", "subtitle", "image_url"}:
        raise Refused(-201, "element is invalid!")
    return dict(element)


def _check_button(button: Any) -> None:
    """Refused like Zalo refuses a bad button."""
    if not isinstance(button, dict) or button.get("type") not in BUTTON_TYPES:
        raise Refused(-201, "button type is invalid!")
    title = button.get("title")
    if not isinstance(title, str) or not title.strip():
        raise Refused(-201, "title is invalid!")
    if len(title) > TITLE_LIMIT:
        raise Refused(-210, "Parameter exceeds allowable limit")
    payload = button.get("payload")
    if button["type"] == "oa.query.show":
        if not isinstance(payload, str) or not payload:
            raise Refused(-201, "payload is invalid!")
        if len(payload) > PAYLOAD_LIMIT:
            raise Refused(-210, "Parameter exceeds allowable limit")
    elif button["type"] == "oa.open.url":
        url = payload.get("url") if isinstance(payload, dict) else None
        if not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise Refused(-201, "url is invalid!")
    else:
        phone = payload.get("phone_code") if isinstance(payload, dict) else None
        if not (isinstance(phone, str) and phone.lstrip("+").isdigit()):
            raise Refused(-201, "phone_code is invalid!")
