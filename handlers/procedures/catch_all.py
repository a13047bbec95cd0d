"""What the last feature router says to whatever nobody else took: unknown commands, messages
that are not text, and buttons from an older release."""

from __future__ import annotations

import re

from aiogram import Bot
from aiogram.types import CallbackQuery, Message

from . import texts

COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]+(@\w+)?(\s|$)")


async def unknown_command(message: Message, bot: Bot) -> None:
    command = (message.text or "").split(maxsplit=1)[0]
    if "@" in command:  # in a group, "/cmd@OtherBot" is for another bot: stay quiet
        me = await bot.me()
        if command.split("@", 1)[1].lower() != (me.username or "").lower():
            return
    await message.answer(texts.unknown_command())


async def not_text(message: Message) -> None:
    # Stickers, photos, voice, contacts, locations...: say what the assistant can read.
    await message.answer(texts.non_text_message())


async def stale_button(callback: CallbackQuery) -> None:
    # Buttons from an older release (or forged data): stop the spinner and say why.
    await callback.answer(texts.stale_button(), show_alert=True)
