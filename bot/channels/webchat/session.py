"""The web chat's aiogram `BaseSession`: Bot API methods out as JSON events for the page.

The dialogs (handlers/) never know they are talking to a browser: `WebChatChannel` turns what a
visitor types or clicks into `Update`s and feeds them to the same `Dispatcher` Telegram uses, and
`WebChatSession` (an aiogram `BaseSession`) answers the Bot API methods the handlers call by
appending events to that visitor's event log, which the page reads.

Behaviour that mirrors Telegram on purpose, so dialogs that work here work there too:
- bot text is parsed like Telegram's HTML parse mode (unsupported tags, empty or over-long text
  raise `TelegramBadRequest`); the returned `Message` carries plain text + entities;
- `editMessageText` without `reply_markup` drops the inline keyboard, and an edit that changes
  nothing raises "message is not modified".

Unknown Bot API methods are answered as `bot.channels.sessions` says: `True` for those returning
`bool` (setMyCommands, deleteWebhook, ...), `TelegramBadRequest` naming any other.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
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
)
from aiogram.utils.text_decorations import html_decoration

from bot.channels.sessions import ChannelSession

from .hub import JsonEvent, Visitor, WebChatHub
from .input import MAX_TEXT_CHARS

logger = logging.getLogger(__name__)

PLACEHOLDER_TOKEN = "1000000001:webchat"
"""Syntactically valid token; the web chat bot never talks to Telegram. Its id is 1000000001."""

_NOT_FOUND = "Bad Request: message to edit not found"


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


def callback_data_on(message: Message) -> set[str]:
    markup = message.reply_markup
    if not isinstance(markup, InlineKeyboardMarkup):
        return set()
    return {b.callback_data for row in markup.inline_keyboard for b in row if b.callback_data}


class WebChatSession(ChannelSession):
    """Answers Bot API methods by writing events to the visitor's log (see module docstring)."""

    CHANNEL = "web chat"
    BOT_USERNAME = "webchat_bot"

    def __init__(self, hub: WebChatHub) -> None:
        super().__init__()
        self.hub = hub

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
        else:
            result = self.not_carried_out(method)
        return cast(TelegramType, result)

    # -- helpers

    def _visitor(self, method: TelegramMethod[Any], chat_id: int | str | None) -> Visitor:
        visitor = self.hub.by_chat_id(chat_id) if chat_id is not None else None
        if visitor is None:
            raise TelegramBadRequest(method=method, message="Bad Request: chat not found")
        return visitor

    def _render(
        self,
        bot: Bot,
        method: TelegramMethod[Any],
        text: str,
        parse_mode: Any,
        entities: list[MessageEntity] | None,
    ) -> tuple[str, list[MessageEntity], str]:
        """Plain text, entities and the HTML the page shows, as Telegram would parse them."""
        plain, parsed = self.parsed(bot, method, text, parse_mode, entities)
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
        # aiogram types `text` as optional; none is empty text, which Telegram refuses too
        plain, entities, _ = self._render(
            bot, method, method.text or "", method.parse_mode, method.entities
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
