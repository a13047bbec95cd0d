"""Web chat channel adapter: browser input in, aiogram `Update`s through the dispatcher, Bot API
methods out as JSON events for the page.

The dialogs (handlers/) never know they are talking to a browser: `WebChatChannel` turns what a
visitor types or clicks into `Update`s and feeds them to the same `Dispatcher` Telegram uses, and
`WebChatSession` (an aiogram `BaseSession`) answers the Bot API methods the handlers call by
appending events to that visitor's event log, which the page reads.

Behaviour that mirrors Telegram on purpose, so dialogs that work here work there too:
- bot text is parsed like Telegram's HTML parse mode (unsupported tags, empty or over-long text
  raise `TelegramBadRequest`); the returned `Message` carries plain text + entities;
- `editMessageText` without `reply_markup` drops the inline keyboard, and an edit that changes
  nothing raises "message is not modified";
- a button press is accepted only for a `callback_data` that is on that message right now.

Unknown Bot API methods: those that return `bool` (setMyCommands, deleteWebhook, ...) are
configuration side effects with no meaning for a browser, so they are logged and answered `True`;
every other unknown method raises `TelegramBadRequest` naming the method, so a dialog that starts
sending, say, documents fails loudly in the web e2e tests instead of silently showing nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import re
import secrets
import time
import unicodedata
from collections import OrderedDict, deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, ClassVar, cast

from aiogram import Bot, Dispatcher
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    DeleteMessages,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendChatAction,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from aiogram.utils.text_decorations import html_decoration

logger = logging.getLogger(__name__)

PLACEHOLDER_TOKEN = "1000000001:webchat"
"""Syntactically valid token; the web chat bot never talks to Telegram. Its id is 1000000001."""

MAX_BODY_BYTES = 16 * 1024
MAX_TEXT_CHARS = 4096  # Telegram's limit for one message
MAX_CALLBACK_DATA_BYTES = 64  # Telegram's limit for callback_data
MAX_CLIENT_ID_CHARS = 64

# secrets.token_urlsafe(16) (128 random bits), then "." and 16 characters of an HMAC of it that
# only this deployment can make; bare 22-character tokens from older releases are still read.
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{22}(?:\.[A-Za-z0-9_-]{16})?$")
_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MAX_CHAT_ID = 2**53 - 1  # positive int64 that JavaScript could also hold exactly

JsonEvent = dict[str, Any]
_NOT_FOUND = "Bad Request: message to edit not found"


class WebChatInputError(ValueError):
    """Browser input the channel refuses; `status` and `code` become the HTTP error response."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# --------------------------------------------------------------------------- input cleaning


def clean_user_text(raw: str, limit: int = MAX_TEXT_CHARS) -> str:
    """NFC; NUL, control, lone-surrogate and format-override characters removed (newlines and
    tabs kept, CRLF -> LF); trimmed; cut to `limit` characters like Telegram does."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    kept: list[str] = []
    for ch in text:
        if ch in "\n\t":
            kept.append(ch)
            continue
        category = unicodedata.category(ch)
        # Cc: C0/C1 controls incl. NUL; Cs: lone surrogates from "\ud800" JSON escapes, which
        # could not even be encoded as UTF-8 later.
        if category in ("Cc", "Cs"):
            continue
        # Bidi overrides/isolates can visually disguise text; zero-width joiners are kept
        # (emoji sequences need them).
        if "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
            continue
        kept.append(ch)
    return "".join(kept).strip()[:limit]


def validate_callback_data(data: object) -> str:
    if not isinstance(data, str) or not data:
        raise WebChatInputError(400, "invalid_callback", "'data' must be a non-empty string")
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        raise WebChatInputError(
            400, "callback_too_long", f"'data' exceeds {MAX_CALLBACK_DATA_BYTES} bytes"
        )
    return data


# --------------------------------------------------------------- Telegram HTML -> entities


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramHTMLError(ValueError):
    pass


class _TelegramHTMLParser(HTMLParser):
    """Telegram's HTML parse mode: the same tags, plain text + UTF-16 entities out."""

    _SIMPLE: ClassVar[dict[str, str]] = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "code": "code",
        "pre": "pre",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._position = 0  # in UTF-16 code units; HTMLParser owns `offset`
        self.entities: list[dict[str, Any]] = []
        self._open: list[tuple[str, dict[str, Any] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        entity: dict[str, Any] | None
        if tag in self._SIMPLE:
            entity = {"type": self._SIMPLE[tag]}
            if tag == "code" and self._open and self._open[-1][0] == "pre":
                pre = self._open[-1][1]
                language = (attributes.get("class") or "").removeprefix("language-")
                if pre is not None and language:
                    pre["language"] = language
                entity = None  # <pre><code> is one pre entity
        elif tag == "span":
            if attributes.get("class") != "tg-spoiler":
                raise TelegramHTMLError('Unsupported start tag "span"')
            entity = {"type": "spoiler"}
        elif tag == "a":
            href = attributes.get("href")
            if not href:
                raise TelegramHTMLError('Tag "a" must have attribute "href"')
            entity = {"type": "text_link", "url": href}
        elif tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attributes else "blockquote"
            entity = {"type": kind}
        elif tag == "tg-emoji":
            entity = None  # custom emoji: the page shows the fallback emoji text
        else:
            raise TelegramHTMLError(f'Unsupported start tag "{tag}"')
        if entity is not None:
            entity["offset"] = self._position
        self._open.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            raise TelegramHTMLError(f'Unmatched end tag "{tag}"')
        _, entity = self._open.pop()
        if entity is not None:
            entity["length"] = self._position - entity["offset"]
            if entity["length"] > 0:
                self.entities.append(entity)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TelegramHTMLError(f'Unsupported start tag "{tag}"')

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self._position += _utf16_len(data)

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        self.close()
        if self._open:
            tag = self._open[-1][0]
            raise TelegramHTMLError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def parse_telegram_html(html: str) -> tuple[str, list[MessageEntity]]:
    """`<b>Hi</b> &amp; bye` -> ("Hi & bye", [bold 0..2]); raises TelegramHTMLError like
    Telegram's "can't parse entities"."""
    parser = _TelegramHTMLParser()
    parser.feed(html)
    text, entities = parser.finish()
    return text, [MessageEntity(**entity) for entity in entities]


# ------------------------------------------------------------------------------- visitors


@dataclass(eq=False)
class Visitor:
    """One browser (one cookie): a private chat with the bot."""

    token: str
    chat_id: int
    last_seen: float
    max_events: int
    max_event_bytes: int
    max_messages: int
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: int = 0  # requests waiting for or holding `lock`
    cursor: int = 0  # seq of the newest event
    events: deque[tuple[JsonEvent, int]] = field(default_factory=deque)
    event_bytes: int = 0
    messages: OrderedDict[int, Message] = field(default_factory=OrderedDict)
    language: str | None = None  # the page's language ("vi"/"en"), sent as language_code
    _last_message_id: int = 0
    _wakeup: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def user_id(self) -> int:
        return self.chat_id  # private chat: chat id == user id, as on Telegram

    @property
    def display_name(self) -> str:
        return "Guest" if self.language == "en" else "Khách"

    def chat(self) -> dict[str, Any]:
        """The visitor's private chat, as Telegram describes one."""
        return {"id": self.chat_id, "type": "private", "first_name": self.display_name}

    def next_message_id(self) -> int:
        self._last_message_id += 1
        return self._last_message_id

    def push(self, event: JsonEvent) -> JsonEvent:
        """Append an event (gets the next `seq`), evicting the oldest beyond the bounds."""
        self.cursor += 1
        event = {"seq": self.cursor, **event}
        size = len(json.dumps(event, ensure_ascii=False))
        self.events.append((event, size))
        self.event_bytes += size
        while len(self.events) > 1 and (
            len(self.events) > self.max_events or self.event_bytes > self.max_event_bytes
        ):
            _, dropped = self.events.popleft()
            self.event_bytes -= dropped
        # Wake every long-poll waiting on the current Event, then arm a fresh one.
        self._wakeup.set()
        self._wakeup = asyncio.Event()
        return event

    def events_after(self, seq: int) -> list[JsonEvent]:
        return [event for event, _ in self.events if event["seq"] > seq]

    async def wait_for_events(self, after: int, timeout: float) -> list[JsonEvent]:
        """Events newer than `after`, waiting up to `timeout` seconds for the first one."""
        found = self.events_after(after)
        if found or timeout <= 0:
            return found
        # Return after any wake-up, even an empty one (shutdown, eviction): the page simply
        # polls again.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        return self.events_after(after)

    def wake(self) -> None:
        self._wakeup.set()
        self._wakeup = asyncio.Event()

    def remember(self, message: Message) -> None:
        self.messages[message.message_id] = message
        self.messages.move_to_end(message.message_id)
        while len(self.messages) > self.max_messages:
            self.messages.popitem(last=False)


class WebChatHub:
    """Per-visitor state, bounded: at most `max_visitors` (least recently seen evicted first),
    bounded event logs and message memories, idle visitors expire after `idle_ttl` seconds.

    A visitor is identified by a random 128-bit token (the cookie); its chat/user id is an HMAC
    of the token, so with a stable `secret` the same browser keeps its id (language, FSM state
    in the database) across restarts. Without a secret a random one is used per process.
    """

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        max_visitors: int = 1000,
        max_events_per_visitor: int = 200,
        max_event_bytes_per_visitor: int = 256 * 1024,
        max_messages_per_visitor: int = 100,
        max_pending_per_visitor: int = 4,
        idle_ttl: float = 6 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self.max_visitors = max_visitors
        self.max_events = max_events_per_visitor
        self.max_event_bytes = max_event_bytes_per_visitor
        self.max_messages = max_messages_per_visitor
        self.max_pending = max_pending_per_visitor
        self.idle_ttl = idle_ttl
        self._clock = clock
        self._by_token: OrderedDict[str, Visitor] = OrderedDict()  # LRU order
        self._by_chat: dict[int, Visitor] = {}

    def __len__(self) -> int:
        return len(self._by_token)

    def new_token(self) -> str:
        """A fresh cookie value, signed so that this deployment recognises it after a restart."""
        random_part = secrets.token_urlsafe(16)
        return random_part + "." + self._signature(random_part)

    def _signature(self, random_part: str) -> str:
        digest = hmac.new(self._secret, b"token:" + random_part.encode("ascii"), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:12]).decode("ascii")

    @staticmethod
    def is_valid_token(token: str | None) -> bool:
        return token is not None and _TOKEN_RE.fullmatch(token) is not None

    def knows(self, token: str | None) -> bool:
        """True when `token` is a cookie this deployment issued: a visitor held now, or one
        signed with the secret (a visitor coming back after a restart). A well-formed token
        nobody issued is not known, so minting cookies does not mint identities for free."""
        if token is None:
            return False
        if token in self._by_token:
            return True
        random_part, dot, signature = token.partition(".")
        return (
            bool(dot)
            and self.is_valid_token(token)
            and hmac.compare_digest(signature, self._signature(random_part))
        )

    def chat_id_for(self, token: str) -> int:
        digest = hmac.new(self._secret, token.encode("ascii"), hashlib.sha256).digest()
        return (int.from_bytes(digest[:8], "big") & _MAX_CHAT_ID) or 1

    def visitor(self, token: str | None) -> tuple[Visitor, bool]:
        """The visitor for a cookie value, creating one if needed; True when the cookie must be
        (re)set because the token was missing or malformed."""
        now = self._clock()
        if token is not None and self.is_valid_token(token):
            found = self._by_token.get(token)
            if found is not None:
                found.last_seen = now
                self._by_token.move_to_end(token)
                return found, False
            chat_id = self.chat_id_for(token)
            if chat_id not in self._by_chat:  # a 2**53 collision: just issue a new token
                return self._add(token, chat_id, now), False
        while True:
            token = self.new_token()
            chat_id = self.chat_id_for(token)
            if token not in self._by_token and chat_id not in self._by_chat:
                return self._add(token, chat_id, now), True

    def _add(self, token: str, chat_id: int, now: float) -> Visitor:
        self.expire_idle()
        while len(self._by_token) >= self.max_visitors:
            _, oldest = next(iter(self._by_token.items()))
            logger.info("web chat full (%d visitors): evicting the least recently seen", len(self))
            self._remove(oldest)
        visitor = Visitor(
            token=token,
            chat_id=chat_id,
            last_seen=now,
            max_events=self.max_events,
            max_event_bytes=self.max_event_bytes,
            max_messages=self.max_messages,
        )
        self._by_token[token] = visitor
        self._by_chat[chat_id] = visitor
        return visitor

    def _remove(self, visitor: Visitor) -> None:
        self._by_token.pop(visitor.token, None)
        self._by_chat.pop(visitor.chat_id, None)
        visitor.wake()  # let a waiting long-poll return

    def by_chat_id(self, chat_id: int | str) -> Visitor | None:
        try:
            return self._by_chat.get(int(chat_id))
        except ValueError:
            return None

    def expire_idle(self) -> int:
        """Drop visitors idle longer than `idle_ttl`; returns how many were dropped."""
        limit = self._clock() - self.idle_ttl
        stale = [v for v in self._by_token.values() if v.last_seen < limit and v.pending == 0]
        for visitor in stale:
            self._remove(visitor)
        if stale:
            logger.debug("expired %d idle web chat visitors", len(stale))
        return len(stale)

    def wake_all(self) -> None:
        for visitor in self._by_token.values():
            visitor.wake()


# ------------------------------------------------------------------- Bot API -> events


def _inline_buttons(markup: InlineKeyboardMarkup | None) -> list[list[dict[str, str]]]:
    rows: list[list[dict[str, str]]] = []
    for row in markup.inline_keyboard if markup else []:
        out: list[dict[str, str]] = []
        for button in row:
            if button.callback_data is not None:
                out.append({"text": button.text, "callback_data": button.callback_data})
            elif button.url is not None:
                out.append({"text": button.text, "url": button.url})
            else:  # switch_inline_query, web_app, pay, ...: nothing a web page can do
                logger.debug("web chat skips an inline button of an unsupported kind")
        if out:
            rows.append(out)
    return rows


def _dump(value: Any) -> Any:
    """Compare Telegram objects by content (pydantic equality also compares the bound bot)."""
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value.model_dump(exclude_none=True) if value is not None else None


def _callback_data_on(message: Message) -> set[str]:
    markup = message.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return set()
    return {b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data}


class WebChatSession(BaseSession):
    """Answers Bot API methods by writing events to the visitor's log (see module docstring)."""

    BOT_FIRST_NAME = "Trợ lý thủ tục hành chính"
    BOT_USERNAME = "webchat_bot"

    def __init__(self, hub: WebChatHub) -> None:
        super().__init__()
        self.hub = hub

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        # There are no Telegram files behind the web chat; never fall back to real HTTP.
        raise NotImplementedError("the web chat channel cannot download files")
        yield b""  # pragma: no cover - makes this an async generator

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,
    ) -> TelegramType:
        result: Any
        if isinstance(method, SendMessage):
            result = self._send_message(bot, method)
        elif isinstance(method, EditMessageText):
            result = self._edit_text(bot, method)
        elif isinstance(method, EditMessageReplyMarkup):
            result = self._edit_markup(bot, method)
        elif isinstance(method, DeleteMessage):
            result = self._delete(method, method.chat_id, [method.message_id])
        elif isinstance(method, DeleteMessages):
            result = self._delete(method, method.chat_id, list(method.message_ids))
        elif isinstance(method, AnswerCallbackQuery):
            result = self._answer_callback(method)
        elif isinstance(method, SendChatAction):
            visitor = self._visitor(method, method.chat_id)
            visitor.push({"type": "typing"})
            result = True
        elif isinstance(method, GetMe):
            result = self.bot_user(bot)
        elif method.__returning__ is bool:
            logger.debug("web chat answers True to %s", type(method).__name__)
            result = True
        else:
            logger.warning("web chat cannot deliver %s", type(method).__name__)
            raise TelegramBadRequest(
                method=method,
                message=f"Bad Request: method {type(method).__name__} is not supported by the "
                "web chat channel",
            )
        return cast(TelegramType, result)

    # -- helpers

    def bot_user(self, bot: Bot) -> User:
        return User(
            id=bot.id, is_bot=True, first_name=self.BOT_FIRST_NAME, username=self.BOT_USERNAME
        )

    def _visitor(self, method: TelegramMethod[Any], chat_id: int | str | None) -> Visitor:
        visitor = self.hub.by_chat_id(chat_id) if chat_id is not None else None
        if visitor is None:
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found")
        return visitor

    @staticmethod
    def _resolve(bot: Bot, value: Any) -> Any:
        return bot.default[value.name] if isinstance(value, Default) else value

    def _render(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        text: str,
        parse_mode: Any,
        entities: list[MessageEntity] | None,
    ) -> tuple[str, list[MessageEntity], str]:
        """Plain text, entities and the HTML the page shows, as Telegram would parse them."""
        parse_mode = self._resolve(bot, parse_mode)
        # ParseMode is a str enum: compare its value, str() of it is "ParseMode.HTML"
        if parse_mode is not None and str(getattr(parse_mode, "value", parse_mode)).upper() == "HTML":
            try:
                plain, parsed = parse_telegram_html(text)
            except TelegramHTMLError as error:
                raise TelegramBadRequest(
                    method=method, message=f"Bad Request: can't parse entities: {error}"
                ) from error
        else:
            if parse_mode is not None:
                logger.warning("web chat shows %s text as plain text", parse_mode)
            plain, parsed = text, list(entities or [])
        if not plain.strip():
            raise TelegramBadRequest(method=method, message="Bad Request: message text is empty")
        if len(plain) > MAX_TEXT_CHARS:
            raise TelegramBadRequest(method=method, message="Bad Request: message is too long")
        return plain, parsed, html_decoration.unparse(plain, parsed)

    def _message(
        self,
        bot: Bot,
        visitor: Visitor,
        message_id: int,
        text: str,
        entities: list[MessageEntity],
        markup: InlineKeyboardMarkup | None,
        edit_date: int | None = None,
    ) -> Message:
        data = {
            "message_id": message_id,
            "date": datetime.now(UTC),
            "chat": visitor.chat(),
            "from": self.bot_user(bot).model_dump(exclude_none=True),
            "text": text,
            "entities": [e.model_dump(exclude_none=True) for e in entities] or None,
            "reply_markup": markup.model_dump(exclude_none=True) if markup else None,
            "edit_date": edit_date,
        }
        return Message.model_validate(data, context={"bot": bot})

    def _send_message(self, bot: Bot, method: SendMessage) -> Message:
        visitor = self._visitor(method, method.chat_id)
        plain, entities, html = self._render(
            bot, method, method.text, method.parse_mode, method.entities
        )
        markup = method.reply_markup
        inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
        message = self._message(bot, visitor, visitor.next_message_id(), plain, entities, inline)
        visitor.remember(message)
        event: JsonEvent = {
            "type": "message",
            "message_id": message.message_id,
            "html": html,
            "buttons": _inline_buttons(inline),
        }
        if isinstance(markup, ReplyKeyboardMarkup):
            # Reply keyboards become quick replies: pressing one sends its text.
            event["keyboard"] = [[button.text for button in row] for row in markup.keyboard]
        elif isinstance(markup, ReplyKeyboardRemove):
            event["keyboard"] = []
        visitor.push(event)
        return message

    def _stored(
        self, method: TelegramMethod[Any], chat_id: int | str | None, message_id: int | None
    ) -> tuple[Visitor, Message]:
        if chat_id is None or message_id is None:
            # inline_message_id: inline mode does not exist on the web
            raise TelegramBadRequest(method=method, message=_NOT_FOUND)
        visitor = self._visitor(method, chat_id)
        message = visitor.messages.get(message_id)
        if message is None:
            raise TelegramBadRequest(method=method, message=_NOT_FOUND)
        return visitor, message

    def _apply_edit(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        visitor: Visitor,
        old: Message,
        text: str,
        entities: list[MessageEntity],
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        if (
            text == old.text
            and _dump(entities) == _dump(old.entities or [])
            and _dump(markup) == _dump(old.reply_markup)
        ):
            raise TelegramBadRequest(
                method=method,
                message="Bad Request: message is not modified: specified new message content "
                "and reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        message = self._message(
            bot, visitor, old.message_id, text, entities, markup, edit_date=int(time.time())
        )
        visitor.remember(message)
        visitor.push(
            {
                "type": "edit",
                "message_id": message.message_id,
                "html": html_decoration.unparse(text, entities),
                "buttons": _inline_buttons(markup),
            }
        )
        return message

    def _edit_text(self, bot: Bot, method: EditMessageText) -> Message:
        visitor, old = self._stored(method, method.chat_id, method.message_id)
        plain, entities, _ = self._render(
            bot, method, method.text, method.parse_mode, method.entities
        )
        # As on Telegram, an edit without reply_markup removes the inline keyboard.
        return self._apply_edit(bot, method, visitor, old, plain, entities, method.reply_markup)

    def _edit_markup(self, bot: Bot, method: EditMessageReplyMarkup) -> Message:
        visitor, old = self._stored(method, method.chat_id, method.message_id)
        text = old.text or ""
        return self._apply_edit(
            bot, method, visitor, old, text, list(old.entities or []), method.reply_markup
        )

    def _delete(
        self, method: TelegramMethod[Any], chat_id: int | str, message_ids: list[int]
    ) -> bool:
        visitor = self._visitor(method, chat_id)
        found = [mid for mid in message_ids if mid in visitor.messages]
        if not found:
            raise TelegramBadRequest(
                method=method, message="Bad Request: message to delete not found"
            )
        for message_id in found:
            del visitor.messages[message_id]
            visitor.push({"type": "delete", "message_id": message_id})
        return True

    def _answer_callback(self, method: AnswerCallbackQuery) -> bool:
        visitor = self.hub.by_chat_id(_callback_chat(method.callback_query_id))
        if visitor is None:
            raise TelegramBadRequest(method=method, message="Bad Request: query is too old")
        if method.text:
            visitor.push({"type": "toast", "text": method.text, "alert": bool(method.show_alert)})
        return True


def _callback_chat(callback_query_id: str) -> int:
    """Callback query ids are "<chat id>:<random>" so the answer finds its visitor."""
    head, _, _ = callback_query_id.partition(":")
    return int(head) if head.isdigit() else 0


class WebChatBot(Bot):
    """An aiogram `Bot` whose API calls are answered by `WebChatSession` (never by Telegram).

    `channel_name` tells channel-aware middlewares (i18n, storage) which channel's user this is.
    Bot default parse mode is HTML, like the Telegram bot.
    """

    channel_name: ClassVar[str] = "web"

    def __init__(
        self,
        hub: WebChatHub,
        *,
        token: str = PLACEHOLDER_TOKEN,
        default: DefaultBotProperties | None = None,
    ) -> None:
        super().__init__(
            token=token,
            session=WebChatSession(hub),
            default=default or DefaultBotProperties(parse_mode="HTML"),
        )
        self.hub = hub


# ------------------------------------------------------------------------- the channel


class WebChatChannel:
    """Browser input -> `Update` -> `dispatcher.feed_update`, one update at a time per visitor.

    The `handle_*` methods return the events produced while the update was handled (the POST
    response carries them so the page feels instant; long-polling delivers the same events
    again and the page de-duplicates them by `seq`).
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        hub: WebChatHub | None = None,
        bot: WebChatBot | None = None,
        feed_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.hub = bot.hub if bot is not None else hub or WebChatHub()
        if hub is not None and bot is not None and bot.hub is not hub:
            raise ValueError("bot.hub and hub differ")
        self.bot = bot or WebChatBot(self.hub)
        self.feed_kwargs = dict(feed_kwargs or {})
        self._update_ids = itertools.count(1)

    async def close(self) -> None:
        self.hub.wake_all()
        await self.bot.session.close()

    # -- Update construction

    def _user(self, visitor: Visitor) -> dict[str, Any]:
        # language_code is the page's language (Vietnamese unless opened with ?lang=en), like
        # a Telegram client's; a language chosen in the dialog is stored and wins over it.
        user: dict[str, Any] = {
            "id": visitor.user_id,
            "is_bot": False,
            "first_name": visitor.display_name,
        }
        if visitor.language:
            user["language_code"] = visitor.language
        return user

    def text_update(self, visitor: Visitor, text: str, message_id: int) -> Update:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": datetime.now(UTC),
            "chat": visitor.chat(),
            "from": self._user(visitor),
            "text": text,
        }
        if command := _COMMAND_RE.match(text):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
            ]
        data = {"update_id": next(self._update_ids), "message": message}
        return Update.model_validate(data, context={"bot": self.bot})

    def callback_update(self, visitor: Visitor, message: Message, data: str) -> Update:
        query = {
            "id": f"{visitor.chat_id}:{secrets.token_hex(8)}",
            "from": self._user(visitor),
            # Stable per chat, like Telegram's; derived, not the chat id itself.
            "chat_instance": str(self.hub.chat_id_for(f"instance:{visitor.chat_id}")),
            "message": message.model_dump(by_alias=True, exclude_none=True),
            "data": data,
        }
        payload = {"update_id": next(self._update_ids), "callback_query": query}
        return Update.model_validate(payload, context={"bot": self.bot})

    # -- feeding

    async def handle_text(
        self,
        visitor: Visitor,
        raw_text: str,
        *,
        client_id: str | None = None,
        echo: bool = True,
    ) -> list[JsonEvent]:
        """A message typed by the visitor. The text is cleaned and cut to 4096 characters;
        `echo=False` keeps it out of the visitor's transcript (the page's automatic /start)."""
        text = clean_user_text(raw_text)
        if not text:
            raise WebChatInputError(400, "empty_text", "'text' is empty")

        async def feed() -> None:
            message_id = visitor.next_message_id()
            if echo:
                event: JsonEvent = {"type": "user", "message_id": message_id, "text": text}
                if client_id:
                    event["client_id"] = client_id
                visitor.push(event)
            await self._feed(visitor, self.text_update(visitor, text, message_id))

        return await self._serialised(visitor, feed)

    async def handle_callback(
        self, visitor: Visitor, message_id: int, data: str
    ) -> list[JsonEvent]:
        """A press on inline button `data` of bot message `message_id`."""
        data = validate_callback_data(data)

        async def feed() -> None:
            # Checked under the lock: the previous press may just have edited the keyboard.
            message = visitor.messages.get(message_id)
            if message is None:
                raise WebChatInputError(404, "unknown_message", "no such message in this chat")
            if data not in _callback_data_on(message):
                raise WebChatInputError(
                    409, "stale_button", "this button is no longer on the message"
                )
            await self._feed(visitor, self.callback_update(visitor, message, data))

        return await self._serialised(visitor, feed)

    async def _serialised(self, visitor: Visitor, feed: Callable[[], Any]) -> list[JsonEvent]:
        if visitor.pending >= self.hub.max_pending:
            raise WebChatInputError(429, "too_many_requests", "wait for the previous answers")
        visitor.pending += 1
        try:
            async with visitor.lock:
                before = visitor.cursor
                await feed()
                return visitor.events_after(before)
        finally:
            visitor.pending -= 1

    async def _feed(self, visitor: Visitor, update: Update) -> None:
        result = await self.dispatcher.feed_update(self.bot, update, **self.feed_kwargs)
        if result is UNHANDLED:
            logger.info("web chat update %s was not handled by any router", update.update_id)
