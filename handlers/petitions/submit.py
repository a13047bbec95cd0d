"""Submitting the petition form, idempotently: the key ``<channel>:<chat id>:<form id>`` makes a
double tap, a retried callback or a re-delivered update find the same petition and show the
same tracking code. The petition (with its outbox messages to the officials) is committed
before the outbox is woken, the form cleared and the citizen thanked.
"""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import DialogSettings, Waker, wake
from handlers.i18n import channel_of
from knowledge.normalize import clean_text
from knowledge.petitions import Problem, classify_request, validate_petition
from storage.records import PetitionRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.citizen_petitions import CitizenPetitionRepository
from storage.repositories.petitions import PetitionDraft, PetitionRepository

from .attachments import attachment_drafts
from .conversation import (
    FSM_FORM,
    FSM_LAST,
    PetitionStates,
    Target,
    chat_of,
    drop_data,
    leave_contact_step,
    say,
)
from .form_data import (
    ADDRESS,
    CONTACT,
    CONTENT,
    NAME,
    OTHER_TOPIC_TEXT,
    TOPIC,
    TOPIC_OTHER,
    FormData,
)
from .form_flow import ask_step
from .keyboards import back_to_petitions, redirect_keyboard, review_keyboard
from .limits import limit_until
from .review_texts import thanks_text
from .step_texts import problem_text, redirect_text
from .texts import limit_text, private_only_text

logger = logging.getLogger(__name__)


def idempotency_key(channel: str, chat_id: str, form_id: str) -> str:
    return f"{channel}:{chat_id}:{form_id}"


def _locale(i18n: I18n | None) -> str | None:
    return i18n.current_locale if i18n is not None else None


async def thank(target: Target, session: AsyncSession, petition: PetitionRecord) -> None:
    agency = await AgencyRepository(session).get(petition.agency_id)
    await say(
        target,
        thanks_text(petition.tracking_code, agency.name if agency else "", petition.answer_by),
        back_to_petitions(),
    )


def _first_problem_step(form: FormData) -> tuple[str, Problem] | None:
    problems = validate_petition(form.content, form.name, form.phone, form.address, form.email)
    if not problems:
        return None
    field = problems[0].field
    step = {"content": CONTENT, "name": NAME, "address": ADDRESS}.get(field, CONTACT)
    return step, problems[0]


async def thank_again(
    callback: CallbackQuery, state: FSMContext, session: AsyncSession, channel: str, form_id: str
) -> bool:
    """Submit pressed on a form that is no longer open: when it is the form submitted last (a
    second tap, or the same press delivered again), thank for the same petition and return
    True; False when it is some other, stale form."""
    last = (await state.get_data()).get(FSM_LAST)
    if not (
        isinstance(last, dict)
        and last.get("form") == form_id
        and isinstance(last.get("petition_id"), int)
    ):
        return False
    chat_id, _type = chat_of(callback)
    petition = await CitizenPetitionRepository(session).own_petition(
        last["petition_id"], channel, chat_id
    )
    if petition is None:
        return False
    await callback.answer()
    await thank(callback, session, petition)
    return True


async def _refused_for_now(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    settings: DialogSettings,
    form: FormData,
    channel: str,
    chat_id: str,
) -> bool:
    """Say why the form cannot be stored yet and where to go (a step to fill in again, the
    redirect of a complaint, the per-chat limit); True when it cannot, False when it can."""
    if not form.topic:
        await ask_step(callback, state, form, TOPIC, channel)
        return True
    problem = _first_problem_step(form)
    if problem is not None:
        step, first = problem
        await say(callback, problem_text(first))
        await ask_step(callback, state, form, step, channel)
        return True
    classification = classify_request(form.content)
    if classification.out_of_scope:
        await state.set_state(PetitionStates.content)
        await say(callback, redirect_text(classification), redirect_keyboard(form.id))
        return True
    until = await limit_until(session, settings, channel, chat_id)
    if until is not None:
        await say(
            callback,
            limit_text(until, settings.petitions_per_hour, settings.petitions_per_day),
            review_keyboard(form.id),
        )
        return True
    return False


def _draft_of(form: FormData, channel: str, chat_id: str, language: str | None) -> PetitionDraft:
    """The checked form as the repository stores it."""
    return PetitionDraft(
        topic_kind=form.topic_kind or TOPIC_OTHER,
        topic=form.topic or OTHER_TOPIC_TEXT,
        content=form.content or "",
        sender_name=clean_text(form.name or ""),
        address=clean_text(form.address or ""),
        phone=form.phone,
        email=form.email,
        procedure_code=form.procedure_code,
        sector=form.sector,
        source="chat",
        channel=channel,
        chat_id=chat_id,
        language=language,
        attachments=attachment_drafts(form.files),
    )


async def submit(
    callback: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    settings: DialogSettings,
    i18n: I18n | None,
    outbox: Waker | None,
    form: FormData,
) -> None:
    channel = channel_of(bot)
    chat_id, chat_type = chat_of(callback)
    if chat_type != "private":
        await say(callback, private_only_text())
        return
    key = idempotency_key(channel, chat_id, form.id)
    petition = await CitizenPetitionRepository(session).by_idempotency_key(key)
    if petition is None:
        if await _refused_for_now(callback, state, session, settings, form, channel, chat_id):
            return
        draft = _draft_of(form, channel, chat_id, _locale(i18n))
        result = await PetitionRepository(session).submit(draft, idempotency_key=key)
        petition = result.petition
        logger.info(
            "Petition %s submitted on %s (%s)",
            petition.tracking_code,
            channel,
            "new" if result.created else "already stored",
        )
    # Committed before anything else: the thank-you never announces a petition that is not
    # stored, and the officials' notifications are in the same transaction.
    await session.commit()
    wake(outbox)
    await leave_contact_step(callback, state, channel, "👌")
    await state.set_state(None)
    await drop_data(
        state, FSM_FORM, extra={FSM_LAST: {"form": form.id, "petition_id": petition.id}}
    )
    await thank(callback, session, petition)
