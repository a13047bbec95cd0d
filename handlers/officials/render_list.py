"""The officials' petition list: one page of their agency's petitions under a filter, with a
button per petition, paging and the other filters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_date
from handlers.markup import quote, shorten
from knowledge.petition_workflow import OPEN_STATUSES, PetitionStatus
from storage.records import AgencyRecord, PetitionRecord

from .callbacks import ListFilter, OfficialList, OfficialPetition, PetitionOp
from .render_deadlines import worst_mark
from .render_words import BUTTON_TEXT_CHARS, filter_label, status_label

PAGE_SIZE = 8

FILTER_STATUSES: dict[ListFilter, tuple[str, ...]] = {
    ListFilter.OPEN: OPEN_STATUSES,
    ListFilter.NEW: (PetitionStatus.RECEIVED,),
    ListFilter.IN_PROGRESS: (PetitionStatus.IN_PROGRESS,),
    ListFilter.WAITING: (PetitionStatus.INFO_REQUESTED,),
    ListFilter.ANSWERED: (PetitionStatus.ANSWERED,),
}


def render_list(
    agency: AgencyRecord,
    petitions: Sequence[PetitionRecord],
    kind: ListFilter,
    page: int,
    now: datetime,
) -> str:
    lines = [
        "<b>" + _("📋 Petitions of {agency}").format(agency=quote(agency.name)) + "</b>",
        _("Filter: {name} · page {page}").format(name=filter_label(kind), page=page + 1),
        "",
    ]
    if not petitions:
        lines.append(_("Nothing here.") if page else _("No petitions under this filter. 🎉"))
        return "\n".join(lines)
    for petition in petitions:
        lines.append(
            _("{mark} <b>{code}</b> · {status} · answer by {date}").format(
                mark=worst_mark(petition, now),
                code=petition.tracking_code,
                status=status_label(petition.status),
                date=format_date(petition.answer_by),
            )
        )
        lines.append("   " + quote(shorten(petition.topic, 80)))
    lines += ["", _("🔴 overdue · ⚠️ due soon. Tap a petition to open it.")]
    return "\n".join(lines)


def _page_button(text: str, kind: ListFilter, page: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=OfficialList(kind=kind, page=page).pack())


def list_keyboard(
    petitions: Sequence[PetitionRecord], kind: ListFilter, page: int, has_next: bool, now: datetime
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    for petition in petitions:
        rows.append(
            [
                InlineKeyboardButton(
                    text=shorten(
                        f"{worst_mark(petition, now)} {petition.tracking_code} · {petition.topic}",
                        BUTTON_TEXT_CHARS,
                    ),
                    callback_data=OfficialPetition(op=PetitionOp.OPEN, id=petition.id).pack(),
                )
            ]
        )
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(_page_button("◀️", kind, page - 1))
    if has_next:
        nav.append(_page_button("▶️", kind, page + 1))
    if nav:
        rows.append(nav)
    filters = [f for f in ListFilter if f is not kind]
    for start in range(0, len(filters), 2):
        rows.append([_page_button(filter_label(f), f, 0) for f in filters[start : start + 2]])
    return InlineKeyboardMarkup(inline_keyboard=rows)
