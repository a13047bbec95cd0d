"""/language and the language buttons: the choice is stored per channel and used at once."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import channel_of
from handlers.replies import reply_to_callback
from storage.repositories.users import UserRepository

from . import keyboards, texts
from .callbacks import LanguageCallback

logger = logging.getLogger(__name__)


async def language_command(message: Message, i18n: I18n) -> None:
    await message.answer(
        texts.language_prompt(), reply_markup=keyboards.language_menu(i18n.current_locale)
    )


async def set_language(
    callback: CallbackQuery,
    callback_data: LanguageCallback,
    session: AsyncSession,
    i18n: I18n,
    bot: Bot,
) -> None:
    await UserRepository(session).set_language(
        channel_of(bot), str(callback.from_user.id), callback_data.code
    )
    await session.commit()
    logger.info("Language set to %s on %s", callback_data.code, channel_of(bot))
    # Answer in the language just chosen, not the one this event started with.
    with i18n.use_locale(callback_data.code):
        await callback.answer(texts.language_changed())
        await reply_to_callback(
            callback,
            texts.language_changed() + "\n\n" + texts.menu_prompt(),
            keyboards.main_menu(),
        )
