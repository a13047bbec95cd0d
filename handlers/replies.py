"""Small helpers to answer through whichever message a callback came from."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def reply_to_callback(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Send a new message in the chat of the pressed button (or the user's private chat when
    the original message is no longer accessible)."""
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    elif callback.bot is not None:
        await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)


async def edit_or_send(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the message holding the pressed button in place; send a new one if it is gone."""
    if isinstance(callback.message, Message):
        await callback.message.edit_text(text, reply_markup=markup)
    elif callback.bot is not None:
        await callback.bot.send_message(callback.from_user.id, text, reply_markup=markup)
