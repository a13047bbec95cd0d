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
import secrets
from collections import deque
from collections.abc import Callable
from typing import Any

from aiogram import Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Message, Update

from bot.channels.updates import (
    UNHANDLED_KEPT,
    UNHANDLED_LOG,
    Unhandled,
    UnhandledUpdateError,
    UnhandledUpdates,
    callback_update,
    person,
    text_update,
)

from .hub import JsonEvent, Visitor, WebChatHub
from .input import WebChatInputError, clean_user_text, validate_callback_data
from .session import WebChatBot, callback_data_on

__all__ = [
    "UNHANDLED_KEPT",
    "UNHANDLED_LOG",
    "Unhandled",
    "UnhandledUpdateError",
    "WebChatChannel",
]

logger = logging.getLogger(__name__)


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
        self.unhandled = UnhandledUpdates("web chat", logger, strict=strict)

    @property
    def strict(self) -> bool:
        return self.unhandled.strict

    @property
    def unhandled_total(self) -> int:
        return self.unhandled.total

    @property
    def unhandled_updates(self) -> deque[Unhandled]:
        return self.unhandled.latest

    async def close(self) -> None:
        self.hub.wake_all()
        await self.bot.session.close()

    # -- Update construction

    def _user(self, visitor: Visitor) -> dict[str, Any]:
        # language_code is the page's language (Vietnamese unless opened with ?lang=en), like
        # a Telegram client's; a language chosen in the dialog is stored and wins over it.
        return person(visitor.user_id, visitor.display_name, visitor.language)

    def text_update(self, visitor: Visitor, text: str, message_id: int) -> Update:
        return text_update(
            self.bot,
            update_id=next(self._update_ids),
            message_id=message_id,
            chat=visitor.chat(),
            user=self._user(visitor),
            text=text,
        )

    def callback_update(self, visitor: Visitor, message: Message, data: str) -> Update:
        return callback_update(
            self.bot,
            update_id=next(self._update_ids),
            query_id=f"{visitor.chat_id}:{secrets.token_hex(8)}",
            user=self._user(visitor),
            # Stable per chat, like Telegram's; derived, not the chat id itself.
            chat_instance=str(self.hub.chat_id_for(f"instance:{visitor.chat_id}")),
            message=message.model_dump(by_alias=True, exclude_none=True),
            data=data,
        )

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
        if result is UNHANDLED:
            self.unhandled.record(update)
