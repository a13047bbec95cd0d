"""The entry points of the petition dialogs in free text: /phananh (/feedback, /pakn) with or
without a tracking code, a tracking code typed on its own, a text asking to send feedback, and
the phone step's reply keyboard left over on screen.
"""

from __future__ import annotations

import re

from aiogram import Bot
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import channel_of
from knowledge.normalize import clean_text

from .conversation import PetitionStates, load_form
from .form_steps import contact_shared, typed_nav
from .keyboards import back_to_petitions
from .labels import back_label, cancel_label, keep_label
from .menu import show_menu
from .texts import stale_form_text
from .tracking import lenient_code, show_by_code
from .tracking_texts import bad_tracking_code_text


async def petitions_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
) -> None:
    args = command.args or ""
    code = lenient_code(args) if args else None
    if code is not None:
        await show_by_code(message, session, bot, code)
    elif re.search(r"(?i)pakn|\d", args):
        await message.answer(bad_tracking_code_text(), reply_markup=back_to_petitions())
    else:
        await show_menu(message, state, bot)


async def code_in_text(
    message: Message, session: AsyncSession, bot: Bot, tracking_code: tuple[int, int]
) -> None:
    await show_by_code(message, session, bot, tracking_code)


async def intent_in_text(message: Message, state: FSMContext, bot: Bot) -> None:
    await show_menu(message, state, bot)


async def phone_keyboard_left_over(message: Message, state: FSMContext, bot: Bot) -> None:
    """The phone step's reply keyboard stays on screen when the citizen left the step
    another way (/start, /help, the main menu, /hoso...): its buttons still work, as they
    would at that step, instead of "I can only read text" or a search for "⬅️ Back"."""
    channel = channel_of(bot)
    text = clean_text(message.text or "")
    labels = (back_label(), cancel_label(), keep_label())
    if channel != "telegram" or (message.contact is None and text not in labels):
        raise SkipHandler()
    form = await load_form(state)
    if message.contact is not None and (form is None or not form.name):
        raise SkipHandler()  # not from this form's phone step (a dossier lookup's button)
    if form is None:
        await message.answer(stale_form_text(), reply_markup=ReplyKeyboardRemove())
        return
    await state.set_state(PetitionStates.contact)
    if message.contact is not None:
        await contact_shared(message, state, bot)
    else:
        await typed_nav(message, state, form, channel, label=text)
