"""/start, /help, /language, the main menu and the language switch."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.users import UserRepository

from . import dossiers, keyboards, petitions, texts
from .callbacks import LanguageCallback, MenuAction, MenuCallback, Noop
from .i18n import SUPPORTED_LOCALES, channel_of
from .replies import reply_to_callback

logger = logging.getLogger(__name__)


def create_router() -> Router:
    router = Router(name="common")

    @router.message(CommandStart())
    async def start(message: Message, state: FSMContext) -> None:
        await state.set_state(None)  # /start always leaves a half-finished dialog
        first_name = message.from_user.first_name if message.from_user else None
        await message.answer(texts.welcome(first_name), reply_markup=keyboards.main_menu())

    @router.message(Command("help"))
    async def help_command(message: Message, state: FSMContext, bot: Bot) -> None:
        # The help says "ask in your own words": out of a half-filled petition (kept for later),
        # or the question typed next would become its content, or a reply sent to an agency.
        await petitions.leave_for_now(message, state, bot)
        await message.answer(texts.help_text(), reply_markup=keyboards.back_to_menu())

    @router.message(Command("language"))
    async def language_command(message: Message, i18n: I18n) -> None:
        await message.answer(texts.language_prompt(), reply_markup=keyboards.language_menu(i18n.current_locale))

    @router.callback_query(MenuCallback.filter())
    async def menu(
        callback: CallbackQuery,
        callback_data: MenuCallback,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        action = callback_data.action
        if action is MenuAction.START:
            await state.set_state(None)
            await reply_to_callback(callback, texts.menu_prompt(), keyboards.main_menu())
        elif action is MenuAction.PROCEDURES:
            await petitions.leave_for_now(callback, state, bot)  # the next text is a question
            await reply_to_callback(callback, texts.procedures_prompt(), None)
        elif action is MenuAction.DOSSIERS:
            if isinstance(callback.message, Message):
                await dossiers.start_lookup(callback.message, state)
            else:
                await reply_to_callback(callback, dossiers.ask_code_text(), keyboards.back_to_menu())
        elif action is MenuAction.FEEDBACK:
            await petitions.show_menu(callback, state, bot)
        elif action is MenuAction.HELP:
            await petitions.leave_for_now(callback, state, bot)
            await reply_to_callback(callback, texts.help_text(), keyboards.back_to_menu())
        elif action is MenuAction.LANGUAGE:
            await reply_to_callback(
                callback, texts.language_prompt(), keyboards.language_menu(i18n.current_locale)
            )
        await callback.answer()

    @router.callback_query(LanguageCallback.filter(F.code.in_(SUPPORTED_LOCALES)))
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

    @router.callback_query(Noop.filter())
    async def noop(callback: CallbackQuery) -> None:
        await callback.answer()

    return router
