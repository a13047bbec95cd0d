"""The agency's petitions as a list: ``/petitions`` (open ones, first page) and the list's
paging and filter buttons."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from storage.records import OfficialRecord
from storage.repositories.agencies import AgencyRepository
from storage.repositories.petitions import PetitionRepository

from .callbacks import ListFilter, OfficialList
from .messaging import now_utc, show
from .render_list import FILTER_STATUSES, PAGE_SIZE, list_keyboard, render_list
from .states import OfficialText

MAX_PAGE = 10_000


async def show_list(
    event: Message | CallbackQuery,
    session: AsyncSession,
    official: OfficialRecord,
    kind: ListFilter,
    page: int,
    *,
    edit: bool = False,
) -> None:
    agency = await AgencyRepository(session).get(official.agency_id)
    assert agency is not None
    page = max(0, min(page, MAX_PAGE))
    rows = await PetitionRepository(session).list_for_agency(
        official.agency_id,
        statuses=FILTER_STATUSES[kind],
        limit=PAGE_SIZE + 1,
        offset=page * PAGE_SIZE,
    )
    has_next = len(rows) > PAGE_SIZE
    petitions = rows[:PAGE_SIZE]
    now = now_utc()
    text = render_list(agency, petitions, kind, page, now)
    await show(event, text, list_keyboard(petitions, kind, page, has_next, now), in_place=edit)


async def petitions_command(
    message: Message, state: FSMContext, session: AsyncSession, official: OfficialRecord
) -> None:
    if await state.get_state() in (OfficialText.text.state, OfficialText.confirm.state):
        await state.set_state(None)
    await show_list(message, session, official, ListFilter.OPEN, 0)


async def list_page(
    callback: CallbackQuery,
    callback_data: OfficialList,
    session: AsyncSession,
    official: OfficialRecord,
) -> None:
    await callback.answer()
    await show_list(callback, session, official, callback_data.kind, callback_data.page, edit=True)
