"""Browsing the published answers: a page of the list and one answer in full (redacted copies
only).
"""

from __future__ import annotations

from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from knowledge.petitions import redact_personal_data
from storage.records import PetitionRecord
from storage.repositories.citizen_petitions import CitizenPetitionRepository
from storage.repositories.petitions import PetitionRepository

from .callbacks import PublicList, PublicOpen
from .conversation import say, say_all
from .keyboards import public_item_keyboard, public_list_keyboard
from .public_item import PUBLIC_PAGE_SIZE, PublicItem, page_count
from .published_texts import public_list_text, public_not_found_text, render_public


def public_item(petition: PetitionRecord, agency: str) -> PublicItem:
    """Only what may be published: the redacted copies, and the topic with the sender's name
    masked (an Open311 topic is free text)."""
    return PublicItem(
        id=petition.id,
        tracking_code=petition.tracking_code,
        topic=redact_personal_data(petition.topic, names=[petition.sender_name]),
        agency=agency,
        received_at=petition.received_at,
        published_at=petition.published_at,
        content=petition.public_content or "",
        answer=petition.public_answer or "",
    )


async def show_public_list(callback: CallbackQuery, session: AsyncSession, page: int) -> None:
    repo = PetitionRepository(session)
    total = await repo.count_published()
    pages = page_count(total)
    page = min(max(page, 0), pages - 1)
    rows = await repo.published(limit=PUBLIC_PAGE_SIZE, offset=page * PUBLIC_PAGE_SIZE)
    names = await CitizenPetitionRepository(session).agency_names({p.agency_id for p in rows})
    items = [public_item(p, names.get(p.agency_id, "")) for p in rows]
    await say(
        callback,
        public_list_text(items, page, total),
        public_list_keyboard(items, page, total),
    )


async def public_list(
    callback: CallbackQuery, callback_data: PublicList, session: AsyncSession
) -> None:
    await callback.answer()
    await show_public_list(callback, session, callback_data.page)


async def public_open(
    callback: CallbackQuery, callback_data: PublicOpen, session: AsyncSession
) -> None:
    petition = await PetitionRepository(session).get(callback_data.id)
    if petition is None or petition.published_at is None:
        await callback.answer(public_not_found_text(), show_alert=True)
        return
    await callback.answer()
    names = await CitizenPetitionRepository(session).agency_names({petition.agency_id})
    item = public_item(petition, names.get(petition.agency_id, ""))
    await say_all(callback, render_public(item), public_item_keyboard(callback_data.page))
