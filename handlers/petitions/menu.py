"""The petitions menu and starting a form: the submenu (with "Continue" for an unfinished form),
leaving the form for now, a new form (after the per-chat limits), and the menu's buttons.
"""

from __future__ import annotations

import secrets

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import DialogSettings
from handlers.i18n import channel_of

from .callbacks import PetitionMenu, PetitionMenuAction
from .conversation import (
    FSM_REPLY,
    MY_STATES,
    Target,
    chat_of,
    drop_data,
    leave_contact_step,
    load_form,
    save_form,
    say,
)
from .form_data import TOPIC, FormData, steps_for
from .form_flow import ask_step
from .keyboards import back_to_petitions, petitions_menu
from .limits import limit_until
from .texts import limit_text, menu_text, private_only_text
from .tracking import show_my_petitions


def new_form_id() -> str:
    return secrets.token_hex(5)


async def leave_for_now(target: Target, state: FSMContext, bot: Bot) -> None:
    """Leave the form or a reply being written, keeping what was filled in (the petitions menu
    offers "Continue"), so that the next text is read as a question, not as a field."""
    if await state.get_state() in MY_STATES:
        await leave_contact_step(target, state, channel_of(bot), "👌")
        await state.set_state(None)


async def show_menu(target: Target, state: FSMContext, bot: Bot) -> None:
    """The petitions submenu (menu button, /phananh, a message asking to send feedback)."""
    _chat_id, chat_type = chat_of(target)
    if chat_type != "private":
        await say(target, private_only_text())
        return
    channel = channel_of(bot)
    form = await load_form(state)
    resume_step = None
    steps = steps_for(channel)
    if form is not None:
        resume_step = steps.index(form.next_missing(channel)) + 1
    # Out of the form while the menu is shown (its fields are kept: "Continue" resumes),
    # so that a question typed next is answered, not taken for a field.
    await leave_for_now(target, state, bot)
    await say(
        target,
        menu_text(),
        petitions_menu(resume_step=resume_step, total_steps=len(steps)),
    )


async def start_form(
    target: Target, state: FSMContext, session: AsyncSession, bot: Bot, settings: DialogSettings
) -> None:
    chat_id, chat_type = chat_of(target)
    if chat_type != "private":
        await say(target, private_only_text())
        return
    channel = channel_of(bot)
    until = await limit_until(session, settings, channel, chat_id)
    if until is not None:
        await say(
            target,
            limit_text(until, settings.petitions_per_hour, settings.petitions_per_day),
            back_to_petitions(),
        )
        return
    await drop_data(state, FSM_REPLY)
    form = FormData(id=new_form_id())
    await save_form(state, form)
    await ask_step(target, state, form, TOPIC, channel)


async def menu_button(
    callback: CallbackQuery,
    callback_data: PetitionMenu,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    settings: DialogSettings,
) -> None:
    await callback.answer()
    action = callback_data.action
    if action is PetitionMenuAction.NEW:
        await start_form(callback, state, session, bot, settings)
    elif action is PetitionMenuAction.RESUME:
        form = await load_form(state)
        chat_id, chat_type = chat_of(callback)
        if form is None or chat_type != "private":
            await show_menu(callback, state, bot)
            return
        channel = channel_of(bot)
        await ask_step(callback, state, form, form.next_missing(channel), channel)
    elif action is PetitionMenuAction.MINE:
        await show_my_petitions(callback, state, session, bot)
    else:
        await show_menu(callback, state, bot)
