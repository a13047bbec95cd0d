"""A stand-in Telegram Bot API server on loopback, for end-to-end tests over real HTTP.

It speaks the Bot API protocol the way Telegram does: `POST /bot<token>/<method>` with form or
JSON bodies, `{"ok": true, "result": ...}` answers, long-polled `getUpdates` with `offset` and
`timeout` served from a queue the test fills, and Telegram's own refusals (text over 4096
characters after entity parsing, HTML that does not parse, callback data over 64 bytes,
editing a message that does not exist or would not change). Every call is recorded, with the
time it arrived.

Tests can also script Telegram's failures: `fail_next(method, status=429, retry_after=1)` (flood
control), `status=500` (a server error), `status=403` ("bot was blocked by the user"),
`status=400`, or `drop_next(method)` (the connection is closed without an answer: a network
error), optionally only for one chat. `sendPhoto` takes a multipart upload and records the file.
With `per_chat_interval` set, the server answers 429 to a second message to the same chat that
arrives sooner than that, like Telegram's per-chat flood control.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from aiohttp import web

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
SEND_METHODS = ("sendMessage", "sendPhoto")
CALLBACK_DATA_LIMIT = 64
# Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
}


class EntityParseError(ValueError):
    pass


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}"')
        if tag == "a" and not dict(attrs).get("href"):
            raise EntityParseError("Can't find end of the href attribute")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise EntityParseError(f'Unmatched end tag "{tag}"')
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def parse_html(text: str) -> str:
    """The visible text of an HTML-mode message, or EntityParseError like Telegram's 400."""
    stripped = re.sub(r"</?[a-z-]+(\s[^<>]*)?>", "", text)
    stripped = re.sub(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);", "", stripped)
    for ch in "<>&":
        if ch in stripped:
            raise EntityParseError(f'Unexpected "{ch}" outside a tag or an entity')
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityParseError(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1]}"'
        )
    return "".join(parser.parts)


def _inline(markup: Any) -> bool:
    return isinstance(markup, dict) and "inline_keyboard" in markup


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class BadRequest(Exception):
    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.description = description
        self.code = code


@dataclass(frozen=True)
class UploadedFile:
    """A file sent with a multipart request (e.g. the photo of sendPhoto)."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Failure:
    """A scripted refusal of the next `times` calls of `method` (to `chat_id` when set)."""

    method: str
    status: int | None  # None: drop the connection without an answer
    description: str
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None

    def matches(self, method: str, params: dict[str, Any]) -> bool:
        if self.times <= 0 or self.method.lower() != method.lower():
            return False
        return self.chat_id is None or _as_int(params.get("chat_id")) == self.chat_id


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    ok: bool = True
    error: str | None = None
    result: Any = None
    at: float = field(default_factory=time.monotonic)  # when the request arrived
    status: int = 200  # the HTTP status answered; 0 when the connection was dropped

    @property
    def text(self) -> str:
        return str(self.params.get("text", ""))

    @property
    def caption(self) -> str:
        return str(self.params.get("caption", ""))

    @property
    def chat_id(self) -> int | None:
        return _as_int(self.params.get("chat_id"))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class FakeUser:
    id: int = 1001
    first_name: str = "Lan"
    last_name: str | None = "Nguyễn"
    language_code: str | None = "vi"

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            d["last_name"] = self.last_name
        if self.language_code:
            d["language_code"] = self.language_code
        return d

    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-fake-token_ABCdef"
    calls: list[Call] = field(default_factory=list)
    per_chat_interval: float | None = None  # answer 429 to faster messages to one chat

    def __post_init__(self) -> None:
        self.failures: list[Failure] = []
        # chat id -> arrival times of the messages (sendMessage/sendPhoto) it accepted
        self.sent_at: dict[int, list[float]] = {}
        self.bot_id = int(self.token.split(":", 1)[0])
        self._updates: list[dict[str, Any]] = []
        self._new_update = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._call_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.webhook: dict[str, Any] | None = None

    # --- server ----------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app, shutdown_timeout=0.5, access_log=None
        )  # URLs hold the token
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body = await request.read()
            return json.loads(body) if body else {}
        if request.method == "GET":
            form: Any = request.query
        else:
            form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, web.FileField):
                params[key] = UploadedFile(value.filename, value.content_type, value.file.read())
                continue
            if not isinstance(value, str):
                params[key] = value
                continue
            # Telegram decodes JSON-serialised fields (reply_markup, entities, allowed_updates...).
            if value[:1] in "[{" or key in ("offset", "timeout", "limit", "chat_id", "message_id"):
                try:
                    params[key] = json.loads(value)
                    continue
                except ValueError:
                    pass
            params[key] = value
        # aiogram uploads a file as its own part and names it in the field: "attach://<part>".
        for key, value in list(params.items()):
            if isinstance(value, str) and value.startswith("attach://"):
                part = params.get(value.removeprefix("attach://"))
                if isinstance(part, UploadedFile):
                    params[key] = part
                    del params[value.removeprefix("attach://")]
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._read_params(request)
        handler: Callable[..., Any] | None = getattr(self, "_m_" + method.lower(), None)
        call = Call(method=method, params=params)
        self.calls.append(call)
        failure = next((f for f in self.failures if f.matches(method, params)), None)
        if failure is not None:
            failure.times -= 1
            if failure.status is None:
                call.ok, call.error, call.status = False, failure.description, 0
                self._notify()
                if request.transport is not None:
                    request.transport.close()  # the client sees "Server disconnected"
                return web.Response(status=500)  # never reaches the client
            return self._refuse(call, failure.status, failure.description, failure.retry_after)
        retry_after = self._flood_wait(method, params, call.at)
        if retry_after is not None:
            return self._refuse(
                call, 429, f"Too Many Requests: retry after {retry_after}", retry_after
            )
        try:
            if handler is None:
                raise BadRequest("Not Found", 404)
            result = (
                await handler(params) if asyncio.iscoroutinefunction(handler) else handler(params)
            )
        except BadRequest as exc:
            return self._refuse(call, exc.code, exc.description)
        call.result = result
        if method in SEND_METHODS and call.chat_id is not None:
            self.sent_at.setdefault(call.chat_id, []).append(call.at)
        self._notify()
        return web.json_response({"ok": True, "result": result})

    def _refuse(
        self, call: Call, status: int, description: str, retry_after: int | None = None
    ) -> web.Response:
        call.ok, call.error, call.status = False, description, status
        self._notify()
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        return web.json_response(body, status=status)

    def _flood_wait(self, method: str, params: dict[str, Any], now: float) -> int | None:
        """Seconds to wait when a message to this chat comes too soon (per_chat_interval)."""
        chat_id = _as_int(params.get("chat_id"))
        if self.per_chat_interval is None or method not in SEND_METHODS or chat_id is None:
            return None
        previous = self.sent_at.get(chat_id)
        if previous and now - previous[-1] < self.per_chat_interval:
            return max(1, round(self.per_chat_interval))
        return None

    # --- scripted failures (what Telegram sometimes does) -----------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> Failure:
        """Refuse the next `times` calls of `method` (to `chat_id` only, when given) with
        `status`: 429 carries `retry_after` (default 1 s), 403 means the bot was blocked."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            template = DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")
            description = template.format(retry_after=retry_after)
        failure = Failure(
            method=method,
            status=status,
            description=description,
            retry_after=retry_after if status == 429 else None,
            times=times,
            chat_id=chat_id,
        )
        self.failures.append(failure)
        return failure

    def drop_next(self, method: str, *, times: int = 1, chat_id: int | None = None) -> Failure:
        """Close the connection of the next `times` calls of `method` without answering (the
        client sees a network error; nothing is delivered)."""
        failure = Failure(
            method=method,
            status=None,
            description="connection dropped",
            times=times,
            chat_id=chat_id,
        )
        self.failures.append(failure)
        return failure

    def delivered(self, method: str | None = None) -> list[Call]:
        """The successful message sends (sendMessage and sendPhoto, or only `method`)."""
        methods = (method,) if method else SEND_METHODS
        return [c for c in self.calls if c.ok and c.method in methods]

    def _notify(self) -> None:
        self._call_event.set()
        self._call_event = asyncio.Event()

    # --- Bot API methods -----------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Trợ lý TTHC",
            "username": "tthc_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user()

    async def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise BadRequest(
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
                409,
            )
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        while not self._updates:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), remaining)
            except TimeoutError:
                return []
        return self._updates[:limit]

    def _m_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def _m_setwebhook(self, params: dict[str, Any]) -> bool:
        if not str(params.get("url", "")).startswith("https://"):
            raise BadRequest("Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = params
        return True

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_setmycommands(self, params: dict[str, Any]) -> bool:
        for cmd in params.get("commands") or []:
            if not (1 <= len(cmd["command"]) <= 32 and 1 <= len(cmd["description"]) <= 256):
                raise BadRequest("Bad Request: BOT_COMMAND_INVALID")
        return True

    def _m_sendchataction(self, params: dict[str, Any]) -> bool:
        return True

    def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        if len(str(params.get("text", ""))) > 200:
            raise BadRequest("Bad Request: MESSAGE_TOO_LONG")
        return True

    def _check_text(self, params: dict[str, Any]) -> str:
        text = str(params.get("text", ""))
        if params.get("parse_mode") == "HTML":
            try:
                visible = parse_html(text)
            except EntityParseError as exc:
                raise BadRequest(f"Bad Request: can't parse entities: {exc}") from None
        else:
            visible = text
        if not visible.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_len(visible) > TEXT_LIMIT:
            raise BadRequest("Bad Request: message is too long")
        self._check_markup(params.get("reply_markup"))
        return visible

    @staticmethod
    def _check_markup(markup: Any) -> None:
        if not markup:
            return
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise BadRequest(
                        "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not (1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT):
                    raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
                if data is None and not button.get("url"):
                    raise BadRequest("Bad Request: can't parse inline keyboard button")

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        visible = self._check_text(params)
        chat_id = int(params["chat_id"])
        message = {
            "message_id": self._next_message_id(chat_id),
            "from": self._bot_user(),
            "chat": {"id": chat_id, "type": "private", "first_name": "Citizen"},
            "date": int(time.time()),
            "text": visible,
        }
        if _inline(params.get("reply_markup")):
            # A Message carries only an inline keyboard; reply keyboards and their removal
            # are not part of it (Telegram leaves them out of the answer).
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _m_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if isinstance(photo, UploadedFile):
            if not photo.data:
                raise BadRequest("Bad Request: IMAGE_PROCESS_FAILED")
            size = len(photo.data)
        elif isinstance(photo, str) and photo:
            size = 0  # a file_id or URL
        else:
            raise BadRequest("Bad Request: there is no photo in the request")
        caption = str(params.get("caption", ""))
        visible = caption
        if caption and params.get("parse_mode") == "HTML":
            try:
                visible = parse_html(caption)
            except EntityParseError as exc:
                raise BadRequest(f"Bad Request: can't parse entities: {exc}") from None
        if utf16_len(visible) > CAPTION_LIMIT:
            raise BadRequest("Bad Request: message caption is too long")
        self._check_markup(params.get("reply_markup"))
        chat_id = int(params["chat_id"])
        message_id = self._next_message_id(chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": {"id": chat_id, "type": "private", "first_name": "Citizen"},
            "date": int(time.time()),
            "photo": [
                {
                    "file_id": f"photo-{chat_id}-{message_id}",
                    "file_unique_id": f"u{chat_id}x{message_id}",
                    "width": 800,
                    "height": 600,
                    "file_size": size,
                }
            ],
        }
        if visible:
            message["caption"] = visible
        if _inline(params.get("reply_markup")):
            # A Message carries only an inline keyboard; reply keyboards and their removal
            # are not part of it (Telegram leaves them out of the answer).
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message_id)] = message
        return message

    def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        visible = self._check_text(params)
        key = (int(params["chat_id"]), int(params["message_id"]))
        message = self.messages.get(key)
        if message is None or message["from"]["id"] != self.bot_id:
            raise BadRequest("Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if message["text"] == visible and message.get("reply_markup") == markup:
            raise BadRequest(
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message"
            )
        message = dict(message, text=visible, edit_date=int(time.time()))
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        self.messages[key] = message
        return message

    # --- what the test (the citizen) does -------------------------------------------------------

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._new_update.set()
        return update

    def make_message(self, user: FakeUser, **content: Any) -> dict[str, Any]:
        chat_id = user.id
        message = {
            "message_id": self._next_message_id(chat_id),
            "from": user.as_dict(),
            "chat": user.chat(),
            "date": int(time.time()),
            **content,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def text_update(self, user: FakeUser, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return {"message": self.make_message(user, **content)}

    def callback_update(self, user: FakeUser, message: dict[str, Any], data: str) -> dict[str, Any]:
        return {
            "callback_query": {
                "id": str(next(self._callback_ids)),
                "from": user.as_dict(),
                "message": message,
                "chat_instance": "-1234567890",
                "data": data,
            }
        }

    def mark(self) -> int:
        return len(self.calls)

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        *,
        since: int = 0,
        timeout: float = 5.0,
    ) -> Call:
        deadline = time.monotonic() + timeout
        while True:
            for call in self.calls[since:]:
                if predicate(call):
                    return call
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(c.method, c.text[:80], c.error) for c in self.calls[since:]]
                raise AssertionError(
                    f"no matching Bot API call within {timeout}s; calls seen: {seen}"
                )
            event = self._call_event
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    async def reply_to(self, update: dict[str, Any], *, timeout: float = 5.0) -> Call:
        """Push `update` and return the bot's first message sent or edited in answer to it."""
        since = self.mark()
        self.push(update)
        call = await self.wait_for(
            lambda c: c.method in ("sendMessage", "editMessageText"), since=since, timeout=timeout
        )
        assert call.ok, f"the Bot API refused {call.method}: {call.error}"
        return call

    def message_of(self, call: Call) -> dict[str, Any]:
        """The stored message a successful sendMessage/editMessageText produced."""
        assert call.ok and isinstance(call.result, dict)
        return self.messages[(call.result["chat"]["id"], call.result["message_id"])]


def button(call: Call, contains: str) -> dict[str, Any]:
    """The first inline button of `call` whose label contains `contains` (case-insensitively)."""
    for b in call.buttons:
        if contains.casefold() in b["text"].casefold():
            return b
    raise AssertionError(f"no button {contains!r} in {[b['text'] for b in call.buttons]}")


async def say(fake: FakeTelegram, user: FakeUser, text: str) -> Call:
    """`user` types `text`; the bot's first message in answer."""
    return await fake.reply_to(fake.text_update(user, text))
