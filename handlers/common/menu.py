"""The main menu's buttons, each opening its feature, and the buttons that only display."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n

from handlers.dossiers.lookup import start_lookup
from handlers.dossiers.texts import ask_code_text
from handlers.petitions.menu import leave_for_now, show_menu
from handlers.replies import reply_to_callback

from . import keyboards, texts
from .callbacks import MenuAction, MenuCallback


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
        await leave_for_now(callback, state, bot)  # the next text is a question
        await reply_to_callback(callback, texts.procedures_prompt(), None)
    elif action is MenuAction.DOSSIERS:
        if isinstance(callback.message, Message):
            await start_lookup(callback.message, state)
        else:
            await reply_to_callback(callback, ask_code_text(), keyboards.back_to_menu())
    elif action is MenuAction.FEEDBACK:
        await show_menu(callback, state, bot)
    elif action is MenuAction.HELP:
        await leave_for_now(callback, state, bot)
        await reply_to_callback(callback, texts.help_text(), keyboards.back_to_menu())
    elif action is MenuAction.LANGUAGE:
        await reply_to_callback(
            callback, texts.language_prompt(), keyboards.language_menu(i18n.current_locale)
        )
    await callback.answer()


async def noop(callback: CallbackQuery) -> None:
    await callback.answer()
