"""Re-routing a petition to another agency (administrators only): the choice of agency, the
confirmation, and the change (it starts again there as new)."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Waker, wake
from handlers.i18n import channel_of
from knowledge.petition_workflow import OPEN_STATUSES, OfficialRole, PetitionError
from storage.records import AgencyRecord, OfficialRecord, PetitionRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.petitions import PetitionRepository

from .callbacks import OfficialReroute, PetitionOp
from .card import MAX_DB_ID, own_petition, show_card
from .messaging import edit, send
from .render_errors import error_text
from .render_prompts import (
    done_text,
    reroute_confirm,
    reroute_confirm_keyboard,
    reroute_keyboard,
    reroute_prompt,
)

logger = logging.getLogger(__name__)

MAX_REROUTE_CHOICES = 90  # buttons (Telegram allows 100 per keyboard)


async def start_reroute(
    callback: CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    via: str,
) -> None:
    """The card's Re-route: the other agencies to choose from."""
    await callback.answer()
    if official.role != OfficialRole.ADMIN:
        await send(callback, error_text("admins_only"))
        return
    if petition.status not in OPEN_STATUSES:
        await send(callback, error_text("wrong_status"))
        await show_card(callback, session, official, petition, via)
        return
    agencies = [a for a in await AgencyRepository(session).list() if a.id != petition.agency_id][
        :MAX_REROUTE_CHOICES
    ]
    if not agencies:
        await send(callback, error_text("no_other_agency"))
        return
    await send(
        callback,
        reroute_prompt(petition.tracking_code),
        reroute_keyboard(petition.id, agencies),
    )


async def _reroute(
    callback: CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    agency: AgencyRecord,
    via: str,
    outbox: Waker | None,
) -> None:
    try:
        await PetitionRepository(session).reroute(petition, official, agency, via=via)
    except PetitionError as error:
        await session.rollback()
        await send(callback, error_text(error.code))
        return
    await session.commit()
    wake(outbox)
    logger.info("Petition #%d re-routed by official #%d", petition.id, official.id)
    await edit(callback, done_text(PetitionOp.REROUTE, petition.tracking_code, agency.name), None)


async def reroute_button(
    callback: CallbackQuery,
    callback_data: OfficialReroute,
    session: AsyncSession,
    bot: Bot,
    official: OfficialRecord,
    outbox: Waker | None = None,
) -> None:
    """An agency chosen (asks to confirm) or the confirmation (re-routes)."""
    via = channel_of(bot)
    petition = await own_petition(session, official, callback_data.id, via)
    await callback.answer()
    if petition is None:
        await send(callback, error_text("not_found"))
        return
    if official.role != OfficialRole.ADMIN:
        await send(callback, error_text("admins_only"))
        return
    agency = (
        await AgencyRepository(session).get(callback_data.agency)
        if 0 < callback_data.agency <= MAX_DB_ID
        else None
    )
    if agency is None:
        await send(callback, error_text("not_found"))
        return
    if not callback_data.confirm:
        await edit(
            callback,
            reroute_confirm(petition.tracking_code, agency),
            reroute_confirm_keyboard(petition.id, agency.id),
        )
        return
    await _reroute(callback, session, official, petition, agency, via, outbox)
