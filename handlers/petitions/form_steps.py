"""The petition form's steps as messages: the topic search, the content (complaints,
denunciations and legal-advice requests are redirected, never stored), attachments (Telegram
only), name, phone or e-mail (shared contact or typed, with the reply keyboard's buttons), address,
and anything else sent while the form is open.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardRemove

from handlers.i18n import channel_of
from handlers.procedures.search import RESULT_LIMIT
from handlers.procedures.userinput import QueryKind, clean_query
from knowledge.dossier import national_phone
from knowledge.normalize import clean_text
from knowledge.petitions import (
    Problem,
    classify_request,
    is_valid_email,
    is_valid_phone,
    validate_address,
    validate_content,
    validate_name,
)
from knowledge.search import SearchIndex

from .attachments import add_file, attachment_of
from .conversation import FSM_FORM, drop_data, load_form, save_form
from .form_data import CONTACT, FILES, NAME, REVIEW, FormData, step_before, steps_for
from .form_flow import after_field, ask_step, current_step
from .keyboards import (
    files_keyboard,
    nav_keyboard,
    petitions_menu,
    redirect_keyboard,
    review_keyboard,
    topic_keyboard,
)
from .labels import back_label, cancel_label, keep_label
from .rules import clean_multiline, means_done
from .step_texts import (
    ask_topic_text,
    attachment_problem_text,
    contact_saved_text,
    file_added_text,
    files_step_passed_text,
    files_text_hint,
    not_own_contact_text,
    photo_too_early_text,
    problem_text,
    redirect_text,
    review_hint_text,
    text_expected,
    topic_results_text,
)
from .texts import cancelled_text, menu_text, stale_form_text

logger = logging.getLogger(__name__)


async def topic_text(message: Message, state: FSMContext, bot: Bot, index: SearchIndex) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text())
        return
    query = clean_query(message.text)
    channel = channel_of(bot)
    if query.kind is not QueryKind.OK:  # empty, or only emoji and symbols
        await message.answer(ask_topic_text(channel), reply_markup=topic_keyboard(form.id))
        return
    hits = [h.procedure for h in index.search(query.text, limit=RESULT_LIMIT)]
    await message.answer(
        topic_results_text(query.text or "", len(hits), channel),
        reply_markup=topic_keyboard(form.id, hits),
    )


async def content_text(message: Message, state: FSMContext, bot: Bot) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text())
        return
    content = clean_multiline(message.text)
    problems = validate_content(content)
    if problems:
        await message.answer(problem_text(problems[0]), reply_markup=nav_keyboard(form.id))
        return
    classification = classify_request(content)
    if classification.out_of_scope:
        logger.info("Petition content redirected: %s", classification.kind.value)
        await message.answer(redirect_text(classification), reply_markup=redirect_keyboard(form.id))
        return
    form.content = content
    await after_field(message, state, form, channel_of(bot))


async def file_received(message: Message, state: FSMContext) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text())
        return
    file, problem = attachment_of(message)
    if file is not None:
        problem = add_file(form.files, file)
    if problem is not None:
        await message.answer(
            attachment_problem_text(problem),
            reply_markup=files_keyboard(form.id, len(form.files)),
        )
        return
    await save_form(state, form)
    await message.answer(
        file_added_text(form.files), reply_markup=files_keyboard(form.id, len(form.files))
    )


async def files_text(message: Message, state: FSMContext, bot: Bot) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text())
        return
    if means_done(message.text or ""):
        form.files_done = True
        await after_field(message, state, form, channel_of(bot))
        return
    await message.answer(files_text_hint(), reply_markup=files_keyboard(form.id, len(form.files)))


async def files_other(message: Message, state: FSMContext) -> None:
    form = await load_form(state)
    count = len(form.files) if form else 0
    await message.answer(
        attachment_problem_text("type"),
        reply_markup=files_keyboard(form.id, count) if form else None,
    )


async def name_text(message: Message, state: FSMContext, bot: Bot) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text())
        return
    name = clean_text(message.text or "")
    problems = validate_name(name)
    if problems:
        await message.answer(problem_text(problems[0]), reply_markup=nav_keyboard(form.id))
        return
    form.name = name
    await after_field(message, state, form, channel_of(bot))


async def contact_shared(message: Message, state: FSMContext, bot: Bot) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text(), reply_markup=ReplyKeyboardRemove())
        return
    contact = message.contact
    if contact is None or message.from_user is None or contact.user_id != message.from_user.id:
        await message.answer(not_own_contact_text())
        return
    if not is_valid_phone(contact.phone_number):
        await message.answer(problem_text(Problem("phone", "phone_invalid")))
        return
    await _save_contact(message, state, form, channel_of(bot), phone=contact.phone_number)


async def contact_text(message: Message, state: FSMContext, bot: Bot) -> None:
    form = await load_form(state)
    channel = channel_of(bot)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text(), reply_markup=ReplyKeyboardRemove())
        return
    text = clean_text(message.text or "")
    if text in (back_label(), cancel_label(), keep_label()):
        await typed_nav(message, state, form, channel, label=text)
        return
    if "@" in text:
        if not is_valid_email(text):
            await message.answer(problem_text(Problem("email", "email_invalid")))
            return
        await _save_contact(message, state, form, channel, email=text)
        return
    if not is_valid_phone(text):
        await message.answer(problem_text(Problem("phone", "phone_invalid")))
        return
    await _save_contact(message, state, form, channel, phone=text)


async def address_text(message: Message, state: FSMContext, bot: Bot) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text())
        return
    address = clean_text(message.text or "")
    problems = validate_address(address)
    if problems:
        await message.answer(problem_text(problems[0]), reply_markup=nav_keyboard(form.id))
        return
    form.address = address
    await after_field(message, state, form, channel_of(bot))


async def review_text(message: Message, state: FSMContext) -> None:
    form = await load_form(state)
    if form is None:
        await state.set_state(None)
        await message.answer(stale_form_text())
        return
    await message.answer(review_hint_text(), reply_markup=review_keyboard(form.id))


async def form_other(message: Message, state: FSMContext, bot: Bot) -> None:
    # Stickers, voice, locations, a photo before the attachments step...: say what is expected.
    form = await load_form(state)
    step = await current_step(state)
    steps = steps_for(channel_of(bot))
    is_file = bool(message.photo or message.document)
    if form is not None and step == REVIEW:  # nothing to type: keep the Submit button
        hint = files_step_passed_text(at_review=True) if is_file else review_hint_text()
        await message.answer(hint, reply_markup=review_keyboard(form.id))
        return
    if is_file and FILES in steps and step in steps and steps.index(step) > steps.index(FILES):
        hint = files_step_passed_text(at_review=False)
    else:
        hint = photo_too_early_text() if is_file else text_expected()
    markup = nav_keyboard(form.id) if form is not None and step != CONTACT else None
    await message.answer(hint, reply_markup=markup)


async def _save_contact(
    message: Message,
    state: FSMContext,
    form: FormData,
    channel: str,
    *,
    phone: str | None = None,
    email: str | None = None,
) -> None:
    if phone is not None:
        form.phone, form.email = "0" + national_phone(phone), None
    else:
        form.phone, form.email = None, clean_text(email or "")
    await save_form(state, form)
    saved = contact_saved_text(form.phone or form.email or "")
    if channel == "telegram":
        await message.answer(saved, reply_markup=ReplyKeyboardRemove())
    else:
        await message.answer(saved)
    # the reply keyboard is gone: leave the contact state before the next question
    await state.set_state(None)
    await after_field(message, state, form, channel)


async def typed_nav(
    message: Message, state: FSMContext, form: FormData, channel: str, *, label: str
) -> None:
    """ "Back", "Cancel" or "Keep" typed with the phone step's reply keyboard (Telegram)."""
    if label == cancel_label():
        await message.answer(cancelled_text(), reply_markup=ReplyKeyboardRemove())
        await state.set_state(None)
        await drop_data(state, FSM_FORM)
        await message.answer(menu_text(), reply_markup=petitions_menu())
        return
    await message.answer("👌", reply_markup=ReplyKeyboardRemove())
    await state.set_state(None)
    if label == keep_label() and (form.phone or form.email):
        await after_field(message, state, form, channel)
    elif form.editing:
        await ask_step(message, state, form, REVIEW, channel)
    else:
        await ask_step(message, state, form, step_before(CONTACT, channel) or NAME, channel)
