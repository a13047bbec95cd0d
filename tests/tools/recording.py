"""A bot that talks to nobody: an aiogram `BaseSession` that answers like Telegram and records.

It refuses what Telegram refuses — HTML that does not parse, empty or over-long messages (4096
characters after entity parsing), callback data over 64 bytes, callback answers over 200
characters — so a renderer that breaks a limit fails in the test that drove it. `strict=True`
also fails on any Bot API method the dialogs are not expected to call.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup, Message, Update, User

from tests.tools.telegram_server import (
    CALLBACK_DATA_LIMIT,
    TEXT_LIMIT,
    EntityParseError,
    parse_html,
    utf16_len,
)

ANSWER_TEXT_LIMIT = 200  # answerCallbackQuery's notification text
SENT = (SendMessage, EditMessageText)


class RecordingSession(BaseSession):
    """Answers the Bot API methods the dialogs use, as Telegram would, and records every call."""

    def __init__(self, *, strict: bool = False, first_message_id: int = 1000) -> None:
        super().__init__()
        self.strict = strict
        self.calls: list[TelegramMethod[Any]] = []
        self.on_send: list[Callable[[Any], Awaitable[None]]] = []  # run as each text is sent
        self._ids = itertools.count(first_message_id)

    async def close(self) -> None:
        return None

    async def stream_content(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def texts(self, since: int = 0) -> list[str]:
        """The texts sent or edited since call number `since`."""
        return [c.text for c in self.calls[since:] if isinstance(c, SENT)]

    @staticmethod
    def check_text(method: Any, text: str, markup: Any) -> str:
        """The visible text of `text`, refused the way Telegram refuses it."""
        try:
            visible = parse_html(text)
        except EntityParseError as error:
            raise TelegramBadRequest(
                method=method, message=f"can't parse entities: {error}"
            ) from None
        if not visible.strip():
            raise TelegramBadRequest(method=method, message="message text is empty")
        if utf16_len(visible) > TEXT_LIMIT:
            raise TelegramBadRequest(method=method, message="message is too long")
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    data = button.callback_data
                    if data is not None and len(data.encode()) > CALLBACK_DATA_LIMIT:
                        raise TelegramBadRequest(method=method, message="BUTTON_DATA_INVALID")
        return visible

    def _message(self, bot: Bot, method: Any) -> Message:
        markup = (
            method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
        )
        chat_id = int(method.chat_id or 0)
        text = getattr(method, "text", None)
        return Message.model_validate(
            {
                "message_id": getattr(method, "message_id", None) or next(self._ids),
                "date": datetime.now(UTC),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                "from": {"id": bot.id, "is_bot": True, "first_name": "Bot"},
                "text": parse_html(text) if text is not None else None,
                "reply_markup": markup.model_dump() if markup else None,
            },
            context={"bot": bot},
        )

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None
    ) -> Any:
        self.calls.append(method)
        if isinstance(method, SENT):
            self.check_text(method, method.text, method.reply_markup)
            for hook in self.on_send:
                await hook(method)
        if isinstance(method, (*SENT, SendPhoto, SendDocument)):
            return self._message(bot, method)
        if isinstance(method, AnswerCallbackQuery):
            if method.text and len(method.text) > ANSWER_TEXT_LIMIT:
                raise TelegramBadRequest(method=method, message="MESSAGE_TOO_LONG")
            return True
        if isinstance(method, GetMe):
            return User(id=bot.id, is_bot=True, first_name="Bot", username="tthc_bot")
        if self.strict:
            raise AssertionError(f"unexpected Bot API call {type(method).__name__}")
        return True


class WakeCounter:
    """Stands in for the outbox worker: counts the wake-ups the dialogs send after commits."""

    def __init__(self) -> None:
        self.wakes = 0

    def wake(self) -> None:
        self.wakes += 1


async def feed_handled(
    dispatcher: Dispatcher, bot: Bot, update: Update, *, handled: bool = True
) -> Any:
    """Feed `update` and insist that a router took it (or, with `handled=False`, that none did).

    `Dispatcher.feed_update` returns `UNHANDLED` when no handler matched: a harness that drops
    that result lets a test pass while nothing answered."""
    result = await dispatcher.feed_update(bot, update)
    if handled:
        assert result is not UNHANDLED, f"no handler took update {update.update_id}"
    else:
        assert result is UNHANDLED, f"update {update.update_id} was handled: {result!r}"
    return result
