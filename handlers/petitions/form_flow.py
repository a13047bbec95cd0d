"""Moving the petition form from step to step: ask a step's question (with the value given so
far and a button to keep it), and go on once a field is filled.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext

from .conversation import STATE_OF, Target, leave_contact_step, save_form, say, say_all
from .form_data import ADDRESS, CONTACT, CONTENT, FILES, NAME, REVIEW, TOPIC, FormData
from .keyboards import (
    contact_reply_keyboard,
    files_keyboard,
    nav_keyboard,
    review_keyboard,
    topic_keyboard,
)
from .review_texts import render_review
from .step_texts import (
    ask_address_text,
    ask_contact_text,
    ask_content_text,
    ask_files_text,
    ask_name_text,
    ask_topic_text,
    topic_chosen_line,
)


async def ask_step(
    target: Target, state: FSMContext, form: FormData, step: str, channel: str
) -> None:
    """Move the form to ``step`` and send its question (with the value given so far, if any,
    and a button to keep it)."""
    if step != CONTACT:
        await leave_contact_step(target, state, channel, "👌")
    await state.set_state(STATE_OF[step])
    if step == REVIEW:
        form.editing = False
        await save_form(state, form)
        await say_all(target, render_review(form, channel), review_keyboard(form.id))
        return
    has_value = {
        TOPIC: bool(form.topic),
        CONTENT: bool(form.content),
        FILES: False,  # its own "Done" button keeps what is attached
        NAME: bool(form.name),
        CONTACT: bool(form.phone or form.email),
        ADDRESS: bool(form.address),
    }[step]
    markup: Any
    if step == TOPIC:
        text = ask_topic_text(channel)
        if form.topic:
            text += "\n\n" + topic_chosen_line(form)
        markup = topic_keyboard(form.id, keep=has_value, editing=form.editing)
    elif step == CONTENT:
        text = ask_content_text(form, channel)
        markup = nav_keyboard(form.id, keep=has_value, editing=form.editing)
    elif step == FILES:
        text, markup = ask_files_text(form, channel), files_keyboard(form.id, len(form.files))
    elif step == NAME:
        text = ask_name_text(form, channel)
        markup = nav_keyboard(form.id, keep=has_value, editing=form.editing)
    elif step == CONTACT:
        text = ask_contact_text(form, channel)
        markup = (
            contact_reply_keyboard(keep=has_value)
            if channel == "telegram"
            else nav_keyboard(form.id, keep=has_value, editing=form.editing)
        )
    else:
        text = ask_address_text(form, channel)
        markup = nav_keyboard(form.id, keep=has_value, editing=form.editing)
    await say(target, text, markup)


async def after_field(target: Target, state: FSMContext, form: FormData, channel: str) -> None:
    """A field was filled: go to the review when editing, else to the next empty step."""
    step = REVIEW if form.editing else form.next_missing(channel)
    form.editing = False if step == REVIEW else form.editing
    await save_form(state, form)
    await ask_step(target, state, form, step, channel)


async def current_step(state: FSMContext) -> str | None:
    current = await state.get_state()
    for step, st in STATE_OF.items():
        if st.state == current:
            return step
    return None
