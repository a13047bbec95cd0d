"""The petition form's buttons: a procedure picked as the topic, and the form's actions (back,
cancel, topic kinds, attachments done, keep, edit a field, review, rewrite, submit).
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import DialogSettings, Waker
from handlers.i18n import channel_of
from knowledge.search import SearchIndex

from .callbacks import FormAction, FormOp, PetitionTopic
from .conversation import (
    FSM_FORM,
    PetitionStates,
    drop_data,
    leave_contact_step,
    load_form,
    save_form,
    say,
)
from .form_data import (
    CONTENT,
    EDITABLE,
    OTHER_TOPIC_TEXT,
    REVIEW,
    SERVICE_TOPIC_TEXT,
    TOPIC_OTHER,
    TOPIC_PROCEDURE,
    TOPIC_SERVICE,
    FormData,
    step_before,
    steps_for,
)
from .form_flow import after_field, ask_step, current_step
from .keyboards import back_to_petitions, edit_keyboard, petitions_menu
from .menu import show_menu
from .step_texts import edit_prompt_text
from .submit import submit, thank_again
from .texts import cancelled_text, menu_text, stale_form_text


async def topic_picked(
    callback: CallbackQuery,
    callback_data: PetitionTopic,
    state: FSMContext,
    bot: Bot,
    index: SearchIndex,
) -> None:
    form = await load_form(state)
    if form is None or form.id != callback_data.form:
        await callback.answer(stale_form_text(), show_alert=True)
        return
    procedure = index.get(callback_data.code)
    if procedure is None:
        await callback.answer(stale_form_text(), show_alert=True)
        return
    await callback.answer()
    form.topic_kind = TOPIC_PROCEDURE
    form.topic = procedure.name[:500]
    form.procedure_code = procedure.code
    form.sector = procedure.sector or None
    await after_field(callback, state, form, channel_of(bot))


async def form_action(
    callback: CallbackQuery,
    callback_data: FormAction,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    settings: DialogSettings,
    i18n: I18n,
    outbox: Waker | None = None,
) -> None:
    channel = channel_of(bot)
    form = await load_form(state)
    op = callback_data.op
    if form is None or form.id != callback_data.form:
        if op is FormOp.SUBMIT and await thank_again(
            callback, state, session, channel, callback_data.form
        ):
            return
        await callback.answer(stale_form_text(), show_alert=True)
        return
    # Answered first: the spinner stops at once, and a slow commit cannot make a late
    # answerCallbackQuery fail after the petition is stored.
    await callback.answer()
    if op is FormOp.SUBMIT:
        await submit(callback, state, session, bot, settings, i18n, outbox, form)
    elif op is FormOp.CANCEL:
        await _cancel(callback, state, channel)
    elif op is FormOp.BACK:
        await _back(callback, state, form, bot, channel)
    elif op in (FormOp.SERVICE, FormOp.OTHER):
        form.topic_kind = TOPIC_SERVICE if op is FormOp.SERVICE else TOPIC_OTHER
        form.topic = SERVICE_TOPIC_TEXT if op is FormOp.SERVICE else OTHER_TOPIC_TEXT
        form.procedure_code = None
        form.sector = None
        await after_field(callback, state, form, channel)
    elif op is FormOp.FILES_DONE:
        form.files_done = True
        await after_field(callback, state, form, channel)
    elif op is FormOp.NEXT:
        await after_field(callback, state, form, channel)
    elif op is FormOp.EDIT:
        await leave_contact_step(callback, state, channel, "👌")
        await state.set_state(PetitionStates.review)
        await say(callback, edit_prompt_text(), edit_keyboard(form.id, channel))
    elif op is FormOp.EDIT_FIELD:
        await _edit_field(callback, state, form, callback_data.arg, channel)
    elif op is FormOp.REVIEW:
        missing = form.next_missing(channel)
        await ask_step(callback, state, form, missing, channel)
    elif op is FormOp.REWRITE:
        await ask_step(callback, state, form, CONTENT, channel)


async def _cancel(callback: CallbackQuery, state: FSMContext, channel: str) -> None:
    """Drop the form (nothing was sent); on Telegram's phone step the reply keyboard goes too."""
    if not await leave_contact_step(callback, state, channel, cancelled_text()):
        await say(callback, cancelled_text(), back_to_petitions())
    else:
        await say(callback, menu_text(), petitions_menu())
    await state.set_state(None)
    await drop_data(state, FSM_FORM)


async def _back(
    callback: CallbackQuery, state: FSMContext, form: FormData, bot: Bot, channel: str
) -> None:
    """The step before this one (the review when editing, the menu before the first step)."""
    step = await current_step(state)
    if form.editing:
        await ask_step(callback, state, form, REVIEW, channel)
        return
    if step is None:  # an older message's button while elsewhere: resume the form
        await ask_step(callback, state, form, form.next_missing(channel), channel)
        return
    previous = step_before(step, channel)
    if previous is None:
        await leave_contact_step(callback, state, channel, "👌")
        await state.set_state(None)
        await show_menu(callback, state, bot)
    else:
        await ask_step(callback, state, form, previous, channel)


async def _edit_field(
    callback: CallbackQuery, state: FSMContext, form: FormData, field: str, channel: str
) -> None:
    """Ask the field ``field`` again, then come back to the review (an unknown field, or one
    this channel does not have, shows the review)."""
    if field not in EDITABLE or field not in steps_for(channel):
        await ask_step(callback, state, form, REVIEW, channel)
        return
    form.editing = True
    await save_form(state, form)
    await ask_step(callback, state, form, field, channel)
