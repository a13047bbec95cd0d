"""The web chat channel: browser input in, aiogram `Update`s through the same `Dispatcher` as
Telegram, one update at a time per visitor.

The dialogs (handlers/) never know they are talking to a browser: `WebChatChannel` turns what a
visitor types or clicks into `Update`s; `WebChatSession` answers the Bot API methods the
handlers call by appending events to that visitor's log, which the page reads. A button press is
accepted only for a `callback_data` that is on that message right now.

An update no router takes gets no answer: the channel logs it and keeps a record of it
(`unhandled_total`, and the latest ones in `unhandled_updates`), so tests and operators can see
it; `strict=True` (tests) also raises `UnhandledUpdateError`.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiogram import Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Message, Update

from bot.channels.telegram_html import utf16_len

from .hub import JsonEvent, Visitor, WebChatHub
from .input import WebChatInputError, clean_user_text, validate_callback_data
from .session import WebChatBot, callback_data_on

logger = logging.getLogger(__name__)

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")

UNHANDLED_KEPT = 100  # the latest unhandled updates kept in `WebChatChannel.unhandled_updates`
UNHANDLED_LOG = "web chat update %s (%s) was not handled by any router"


class Unhandled(NamedTuple):
    """An update no router took: its id and its kind ("message", "callback_query"), never what
    the visitor typed."""

    update_id: int
    event_type: str


class UnhandledUpdateError(AssertionError):
    """Raised by a strict channel (tests) when no router took an update."""


class WebChatChannel:
    """Browser input -> `Update` -> `dispatcher.feed_update`, one update at a time per visitor.

    The `handle_*` methods return the events produced while the update was handled (the POST
    response carries them so the page feels instant; long-polling delivers the same events
    again and the page de-duplicates them by `seq`).

    An update no router took is logged and recorded: `unhandled_total` counts them all,
    `unhandled_updates` keeps the latest `UNHANDLED_KEPT`. The visitor's answer does not change
    (no events); with `strict=True` the `handle_*` call also raises `UnhandledUpdateError`.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        hub: WebChatHub | None = None,
        bot: WebChatBot | None = None,
        feed_kwargs: dict[str, Any] | None = None,
        strict: bool = False,
    ) -> None:
        self.dispatcher = dispatcher
        # `is None`, never `or`: a hub without visitors yet is falsy (it has a length)
        if hub is None:
            hub = bot.hub if bot is not None else WebChatHub()
        elif bot is not None and bot.hub is not hub:
            raise ValueError("bot.hub and hub differ")
        self.hub = hub
        self.bot = bot if bot is not None else WebChatBot(hub)
        self.feed_kwargs = dict(feed_kwargs or {})
        self._update_ids = itertools.count(1)
        self.strict = strict
        self.unhandled_total = 0
        self.unhandled_updates: deque[Unhandled] = deque(maxlen=UNHANDLED_KEPT)

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
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
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
            if data not in callback_data_on(message):
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
        if result is not UNHANDLED:
            return
        record = Unhandled(update.update_id, update.event_type)
        logger.info(UNHANDLED_LOG, *record)
        self.unhandled_total += 1
        self.unhandled_updates.append(record)
        if self.strict:
            raise UnhandledUpdateError(f"no router took web chat update {_describe(update)}")


def _describe(update: Update) -> str:
    """The update for a strict channel's error (a test's): its id, kind and content."""
    if update.callback_query is not None:
        return f"{update.update_id} (callback_query, data={update.callback_query.data!r})"
    text = update.message.text if update.message is not None else None
    return f"{update.update_id} ({update.event_type}, text={text!r})"
