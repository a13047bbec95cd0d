"""A petition's card for officials: opened by a typed tracking code or a button, with the
attachments and the full texts on request.

An official sees the petitions of their own agency only; any other id answers "not found /
not your agency" and is audited as ``view_denied``. Every card shown is audited
(``PetitionRepository.record_view``).
"""

from __future__ import annotations

import logging
import re

from aiogram import Bot
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.i18n import channel_of
from handlers.markup import quote
from knowledge.petition_workflow import AuditAction, can_see_personal_data
from knowledge.petitions import parse_tracking_code
from storage.records import AttachmentRecord, OfficialRecord, PetitionRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.audit import AuditRepository
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository

from .messaging import chat_id_of, now_utc, send, show
from .render_card import CardData, card_keyboard, needs_full_text, render_card, render_full_text
from .render_errors import attachments_failed_text, error_text

logger = logging.getLogger(__name__)

MAX_DB_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL

_TRACKING_HINT_RE = re.compile(r"pakn", re.IGNORECASE)


async def own_petition(
    session: AsyncSession, official: OfficialRecord, petition_id: int, via: str
) -> PetitionRecord | None:
    """The petition if it is of the official's agency; otherwise None (audited)."""
    if not 0 < petition_id <= MAX_DB_ID:  # forged button data: the column is 32-bit
        return None
    petition = await PetitionRepository(session).get(petition_id)
    if petition is None:
        return None
    if petition.agency_id != official.agency_id:
        await AuditRepository(session).record(
            AuditAction.VIEW_DENIED, official=official, petition_id=petition.id, via=via
        )
        await session.commit()
        return None
    return petition


async def pressed_petition(
    callback: CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    petition_id: int,
    via: str,
) -> PetitionRecord | None:
    """The petition of a pressed button if it is the official's agency's; otherwise the button
    is answered with "not found" and None is returned."""
    petition = await own_petition(session, official, petition_id, via)
    if petition is None:
        await callback.answer()
        await send(callback, error_text("not_found"))
    return petition


async def card_data(
    session: AsyncSession, official: OfficialRecord, petition: PetitionRecord
) -> CardData:
    repo = PetitionRepository(session)
    events = await repo.events(petition.id)
    attachments = await repo.attachments(petition.id)
    agency = await AgencyRepository(session).get(petition.agency_id)
    assert agency is not None  # a foreign key
    names = await OfficialRepository(session).official_names(
        [e.official_id for e in events if e.official_id] + [petition.assigned_to or 0]
    )
    return CardData(
        petition=petition,
        agency=agency,
        events=events,
        attachments=attachments,
        names=names,
        personal=can_see_personal_data(official, petition),
    )


async def show_card(
    event: Message | CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    via: str,
    *,
    edit: bool = False,
) -> None:
    """Show the petition's card (audited as a view) with the actions the official has now."""
    data = await card_data(session, official, petition)
    await PetitionRepository(session).record_view(petition, official, via=via)
    await session.commit()
    text = render_card(data, now_utc())
    markup = card_keyboard(
        petition,
        official,
        attachments=len(data.attachments),
        full_text=needs_full_text(data),
    )
    await show(event, text, markup, in_place=edit)


async def send_full_text(
    callback: CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    via: str,
) -> None:
    """The petition's long texts whole, split into messages (audited as a full-text view)."""
    data = await card_data(session, official, petition)
    await PetitionRepository(session).record_view(
        petition, official, via=via, details={"full_text": True}
    )
    await session.commit()
    for part in render_full_text(data):
        await send(callback, part)


async def _resend(
    bot: Bot, chat_id: str, petition: PetitionRecord, attachment: AttachmentRecord
) -> None:
    caption = f"{petition.tracking_code} · {attachment.file_name or attachment.kind}"[:1000]
    if attachment.kind == "photo":
        await bot.send_photo(chat_id, attachment.file_id, caption=quote(caption))
    elif attachment.kind == "document":
        await bot.send_document(chat_id, attachment.file_id, caption=quote(caption))
    else:
        await bot.send_message(chat_id, quote(f"{caption}\n{attachment.file_id}"))


async def send_attachments(
    callback: CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    bot: Bot,
    via: str,
) -> None:
    """Re-send the petition's photos and documents by their Telegram file ids (the bytes stay
    with Telegram); a link is sent as text. Audited as a view of the attachments."""
    petitions = PetitionRepository(session)
    attachments = await petitions.attachments(petition.id)
    await petitions.record_view(
        petition, official, via=via, details={"attachments": len(attachments)}
    )
    await session.commit()
    chat_id = chat_id_of(callback)
    failed = 0
    for attachment in attachments:
        try:
            await _resend(bot, chat_id, petition, attachment)
        except TelegramAPIError:
            logger.warning(
                "Petition #%d: attachment #%d could not be re-sent", petition.id, attachment.id
            )
            failed += 1
    if failed:
        await send(callback, attachments_failed_text(failed))


def mentions_pakn(message: Message) -> bool:
    """Cheap pre-filter: only texts naming "PAKN" can hold a tracking code."""
    return bool(message.text and _TRACKING_HINT_RE.search(message.text))


async def tracking_code(
    message: Message, session: AsyncSession, bot: Bot, official: OfficialRecord
) -> None:
    """A tracking code typed by an official opens the card of their agency's petition."""
    parsed = parse_tracking_code(message.text)
    if parsed is None:
        raise SkipHandler()
    petition = await PetitionRepository(session).by_code(message.text or "")
    via = channel_of(bot)
    if (
        petition is not None
        and petition.agency_id != official.agency_id
        and (petition.channel, petition.chat_id) == (via, chat_id_of(message))
    ):
        raise SkipHandler()  # sent from this chat as a citizen: the citizen's view shows it
    if petition is not None:
        petition = await own_petition(session, official, petition.id, via)
    if petition is None:
        await message.answer(error_text("not_found"))
        return
    await show_card(message, session, official, petition, via)
