"""Becoming an official and inviting one: ``/official CODE`` (or the code typed after a bare
``/official``), ``/cancel`` in the officials' dialogs, and an administrator's ``/invite``.

Enrolment works only in private chats; wrong, used and expired codes get one answer, and 5
failures per chat per hour lock the chat (counted in the audit log, so the limit holds across
processes and restarts).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import channel_of
from knowledge.dossier import locked_until
from knowledge.petition_workflow import OfficialRole, PetitionError
from storage.records import OfficialRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.officials import OfficialRepository, normalize_invitation_code

from . import render_enrolment as texts
from .filters import current_official
from .messaging import now_utc
from .render_errors import error_text
from .render_prompts import cancelled_text
from .states import OfficialEnrol, forget_typed_text

logger = logging.getLogger(__name__)

INVITATION_CODE_LENGTH = 12  # letters and digits after "MOI" (storage.repositories.officials)
ENROL_MAX_FAILURES = 5
ENROL_WINDOW = timedelta(hours=1)
_ROLE_WORDS = {
    "officer": OfficialRole.OFFICER,
    "canbo": OfficialRole.OFFICER,
    "cán bộ": OfficialRole.OFFICER,
    "can bo": OfficialRole.OFFICER,
    "admin": OfficialRole.ADMIN,
    "quantri": OfficialRole.ADMIN,
    "quản trị": OfficialRole.ADMIN,
    "quan tri": OfficialRole.ADMIN,
}


def _role_of(text: str) -> str | None:
    return _ROLE_WORDS.get(" ".join(text.lower().split()))


async def _enrol_failed(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    channel: str,
    failures: list[datetime],
    now: datetime,
) -> None:
    """Count a wrong code (audited) and say so, or that the chat is locked now."""
    chat_id = str(message.chat.id)
    await session.rollback()
    await OfficialRepository(session).record_enroll_failure(channel, chat_id)
    await session.commit()
    logger.warning("Official enrolment failed: channel=%s chat=%s", channel, chat_id)
    failures.append(now)
    locked = locked_until(failures, ENROL_MAX_FAILURES, ENROL_WINDOW)
    await message.answer(texts.enrol_locked_text(locked) if locked else texts.enrol_failed_text())
    if locked:
        await state.set_state(None)


async def _enrol(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
    code: str,
) -> None:
    channel = channel_of(bot)
    chat_id = str(message.chat.id)
    now = now_utc()
    officials = OfficialRepository(session)
    failures = await officials.enroll_failures(channel, chat_id, now - ENROL_WINDOW)
    locked = locked_until(failures, ENROL_MAX_FAILURES, ENROL_WINDOW)
    if locked is not None:
        await state.set_state(None)
        await message.answer(texts.enrol_locked_text(locked))
        return
    user = message.from_user
    try:
        official = await officials.enroll(
            code,
            channel=channel,
            chat_id=chat_id,
            display_name=user.full_name if user else "",
            language=i18n.current_locale,
        )
    except PetitionError:
        await _enrol_failed(message, state, session, channel, failures, now)
        return
    await session.commit()
    await state.set_state(None)
    agency = await AgencyRepository(session).get(official.agency_id)
    assert agency is not None
    logger.info("Official #%d enrolled (agency %s, %s)", official.id, agency.code, official.role)
    await message.answer(texts.enrolled_text(official, agency))


async def official_command(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    session: AsyncSession,
    bot: Bot,
    i18n: I18n,
) -> None:
    if message.chat.type != "private":
        await message.answer(texts.private_only_text())
        return
    code = (command.args or "").strip()
    if code:
        await _enrol(message, state, session, bot, i18n, code[:100])
        return
    official = await current_official(session, bot, message)
    if official is not None:
        agency = await AgencyRepository(session).get(official.agency_id)
        assert agency is not None
        await message.answer(texts.official_status_text(official, agency))
        return
    await state.set_state(OfficialEnrol.code)
    await message.answer(texts.enrol_prompt())


async def cancel_command(message: Message, state: FSMContext) -> None:
    await forget_typed_text(state)
    await message.answer(cancelled_text())


async def enrol_code(
    message: Message, state: FSMContext, session: AsyncSession, bot: Bot, i18n: I18n
) -> None:
    text = (message.text or "").strip()
    if message.chat.type != "private":
        raise SkipHandler()
    if len(normalize_invitation_code(text[:100])) != INVITATION_CODE_LENGTH:
        # Not a code at all (a question typed instead): the prompt is dropped, the text is
        # answered as usual and no failed attempt is counted.
        await state.set_state(None)
        raise SkipHandler()
    await _enrol(message, state, session, bot, i18n, text[:100])


async def enrol_not_text(message: Message) -> None:
    await message.answer(texts.enrol_prompt())


async def invite_command(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    bot: Bot,
    official: OfficialRecord,
) -> None:
    """An administrator's one-time code for a new official of their agency."""
    if official.role != OfficialRole.ADMIN:
        await message.answer(error_text("admins_only"))
        return
    role = _role_of(command.args or "")
    if role is None:
        await message.answer(texts.invite_usage_text())
        return
    code, invitation = await OfficialRepository(session).create_invitation(
        official.agency_id, role, created_by=official, via=channel_of(bot)
    )
    await session.commit()
    agency = await AgencyRepository(session).get(official.agency_id)
    assert agency is not None
    await message.answer(texts.invitation_text(code, role, agency, invitation.expires_at))
