"""How the officials' handlers reach the chat: the chat an event comes from, whether it is
private, sending a text (to a message, a pressed button or the user), editing the pressed
button's message in place, and waking the outbox after a change."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

logger = logging.getLogger(__name__)


def now_utc() -> datetime:
    return datetime.now(UTC)


def chat_id_of(event: Message | CallbackQuery) -> str:
    if isinstance(event, Message):
        return str(event.chat.id)
    if isinstance(event.message, Message):
        return str(event.message.chat.id)
    return str(event.from_user.id)


def is_private(event: Message | CallbackQuery) -> bool:
    if isinstance(event, Message):
        return event.chat.type == "private"
    if isinstance(event.message, Message):
        return event.message.chat.type == "private"
    return True  # an inaccessible message: the bot answers in the private chat


async def send(
    event: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    if isinstance(event, Message):
        await event.answer(text, reply_markup=markup)
    elif isinstance(event.message, Message):
        await event.message.answer(text, reply_markup=markup)
    elif event.bot is not None:
        await event.bot.send_message(event.from_user.id, text, reply_markup=markup)


async def edit(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Edit the message of the pressed button in place (or send when it is gone)."""
    if isinstance(callback.message, Message):
        try:
            await callback.message.edit_text(text, reply_markup=markup)
            return
        except TelegramAPIError as error:
            if "message is not modified" in str(error):
                return
            logger.debug("Could not edit the message; sending a new one", exc_info=True)
    await send(callback, text, markup)


async def show(
    event: Message | CallbackQuery,
    text: str,
    markup: InlineKeyboardMarkup | None,
    *,
    in_place: bool,
) -> None:
    """Edit the pressed button's message when ``in_place`` (and there is a button), else send."""
    if in_place and isinstance(event, CallbackQuery):
        await edit(event, text, markup)
    else:
        await send(event, text, markup)
