"""/start and /help: the welcome with the main menu, and how to use the assistant."""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from handlers.petitions.menu import leave_for_now

from . import keyboards, texts


async def start(message: Message, state: FSMContext) -> None:
    await state.set_state(None)  # /start always leaves a half-finished dialog
    first_name = message.from_user.first_name if message.from_user else None
    await message.answer(texts.welcome(first_name), reply_markup=keyboards.main_menu())


async def help_command(message: Message, state: FSMContext, bot: Bot) -> None:
    # The help says "ask in your own words": out of a half-filled petition (kept for later),
    # or the question typed next would become its content, or a reply sent to an agency.
    await leave_for_now(message, state, bot)
    await message.answer(texts.help_text(), reply_markup=keyboards.back_to_menu())
