"""Carrying out an official's change of a petition (take, ask, answer, refuse, publish)
through the repository, which checks the agency and the status again and audits it; then the
outbox is woken and the official sees the result and the fresh card."""

from __future__ import annotations

import logging

from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.contracts import Waker, wake
from handlers.petitions.notifications import enqueue_answer_parts
from knowledge.petition_workflow import PetitionError
from storage.records import OfficialRecord, PetitionRecord
from storage.repositories.officials import OfficialRepository
from storage.repositories.petitions import PetitionRepository

from .callbacks import PetitionOp
from .card import show_card
from .messaging import edit, send
from .render_errors import error_text
from .render_prompts import done_text

logger = logging.getLogger(__name__)


async def _change(
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    op: PetitionOp,
    via: str,
    text: str,
) -> PetitionRecord:
    """The repository call of ``op``, and the petition after it; raises ``PetitionError``
    when it is refused."""
    repo = PetitionRepository(session)
    if op is PetitionOp.TAKE:
        change = await repo.take(petition, official, via=via)
    elif op is PetitionOp.ASK:
        change = await repo.request_info(petition, official, text, via=via)
    elif op is PetitionOp.ANSWER:
        change = await repo.answer(petition, official, text, via=via)
        await enqueue_answer_parts(session, change.petition, change.event)
    elif op is PetitionOp.REFUSE:
        change = await repo.refuse(petition, official, text, via=via)
    elif op is PetitionOp.PUBLISH:
        change = await repo.publish(petition, official, via=via)
    else:
        raise ValueError(op)
    return change.petition


async def _show_refusal(
    callback: CallbackQuery,
    session: AsyncSession,
    error: PetitionError,
    petition_id: int,
    official_id: int,
    via: str,
) -> None:
    """Why the change was refused, and the card as it is now (read again: it may have changed
    meanwhile), while the official still belongs to the petition's agency."""
    await callback.answer()
    await send(callback, error_text(error.code))
    fresh = await PetitionRepository(session).get(petition_id)
    again = await OfficialRepository(session).get(official_id)
    if fresh is not None and again is not None and fresh.agency_id == again.agency_id:
        await show_card(callback, session, again, fresh, via)


async def act(
    callback: CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    petition: PetitionRecord,
    op: PetitionOp,
    via: str,
    outbox: Waker | None,
    *,
    text: str | None = None,
) -> bool:
    """Carry out ``op`` through the repository, commit, wake the outbox, show the result and
    the fresh card; a refused change shows why and the current card. True when done."""
    try:
        petition = await _change(session, official, petition, op, via, text or "")
    except PetitionError as error:
        await session.rollback()
        await _show_refusal(callback, session, error, petition.id, official.id, via)
        return False
    await session.commit()
    wake(outbox)
    logger.info("Petition #%d: %s by official #%d", petition.id, op.name.lower(), official.id)
    await callback.answer()
    if op is PetitionOp.TAKE:
        await send(callback, done_text(op, petition.tracking_code))
        await show_card(callback, session, official, petition, via, edit=True)
    else:
        await edit(callback, done_text(op, petition.tracking_code), None)
        await show_card(callback, session, official, petition, via)
    return True
