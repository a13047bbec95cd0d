"""Tracking petitions: by tracking code (typed, or after /phananh) and "My petitions". Only the
chat that sent a petition may see it; unknown and somebody else's codes look the same.
"""

from __future__ import annotations

import re

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import channel_of
from knowledge.normalize import clean_text
from knowledge.petition_workflow import PetitionAction, PetitionStatus
from knowledge.petitions import parse_tracking_code
from storage.records import PetitionRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.citizen_petitions import CitizenPetitionRepository
from storage.repositories.petitions import PetitionRepository

from .callbacks import PetitionView
from .conversation import Target, chat_of, say, say_all
from .keyboards import back_to_petitions, my_petitions_keyboard, petition_keyboard
from .texts import private_only_text
from .tracking_texts import my_petitions_text, petition_not_found_text, render_petition

MY_PETITIONS_SHOWN = 10


def lenient_code(text: str) -> tuple[int, int] | None:
    """A tracking code as typed, also without the "PAKN" word after /phananh ("2026 123")."""
    parsed = parse_tracking_code(text)
    if parsed is not None:
        return parsed
    stripped = clean_text(text)
    if re.fullmatch(r"20\d\d[\s\-_./:#]*\d{1,6}", stripped):
        return parse_tracking_code("PAKN " + stripped)
    return None


async def show_my_petitions(
    target: Target, state: FSMContext, session: AsyncSession, bot: Bot
) -> None:
    chat_id, chat_type = chat_of(target)
    if chat_type != "private":
        await say(target, private_only_text())
        return
    petitions = await PetitionRepository(session).of_sender(
        channel_of(bot), chat_id, limit=MY_PETITIONS_SHOWN
    )
    await say(target, my_petitions_text(petitions), my_petitions_keyboard(petitions))


async def latest_question(session: AsyncSession, petition: PetitionRecord) -> str | None:
    events = await PetitionRepository(session).events(petition.id)
    questions = [e.note for e in events if e.action == PetitionAction.INFO_REQUEST and e.note]
    return questions[-1] if questions else None


async def show_petition(target: Target, session: AsyncSession, petition: PetitionRecord) -> None:
    """The sender's own view of a petition (callers checked that this chat sent it)."""
    agency = await AgencyRepository(session).get(petition.agency_id)
    question = (
        await latest_question(session, petition)
        if petition.status == PetitionStatus.INFO_REQUESTED
        else None
    )
    attachments = len(await PetitionRepository(session).attachments(petition.id))
    await say_all(
        target,
        render_petition(
            petition, agency.name if agency else "", question=question, attachments=attachments
        ),
        petition_keyboard(petition),
    )


async def show_by_code(
    target: Target, session: AsyncSession, bot: Bot, code: tuple[int, int]
) -> None:
    chat_id, chat_type = chat_of(target)
    if chat_type != "private":
        await say(target, private_only_text())
        return
    year, number = code
    petition = await PetitionRepository(session).by_code(f"PAKN {year} {number}")
    channel = channel_of(bot)
    if petition is None or petition.channel != channel or petition.chat_id != chat_id:
        # Unknown and somebody else's look the same: codes cannot be probed.
        await say(target, petition_not_found_text(), back_to_petitions())
        return
    await show_petition(target, session, petition)


async def view_petition(
    callback: CallbackQuery, callback_data: PetitionView, session: AsyncSession, bot: Bot
) -> None:
    chat_id, _type = chat_of(callback)
    petition = await CitizenPetitionRepository(session).own_petition(
        callback_data.id, channel_of(bot), chat_id
    )
    if petition is None:
        await callback.answer(petition_not_found_text()[:200], show_alert=True)
        return
    await callback.answer()
    await show_petition(callback, session, petition)
