"""A petition's legal deadlines as officials see them: which still matter at its stage, and
the list's one-glyph marker of the most urgent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from aiogram.utils.i18n import gettext as _

from knowledge.petition_workflow import OPEN_STATUSES, PetitionAction, PetitionStatus
from knowledge.petitions import DeadlineStatus, deadline_status
from storage.records import EventRecord, PetitionRecord


@dataclass(frozen=True)
class Deadline:
    label: str
    due: date
    status: DeadlineStatus | None  # None: no longer relevant (done, or not at this stage)


def deadlines(
    petition: PetitionRecord, events: Sequence[EventRecord], now: datetime
) -> list[Deadline]:
    """The petition's deadlines with a due-soon / overdue status where they still matter.

    Refusing matters while nobody has taken the petition; the first request for information
    while none was made; the answer while the petition is open; publishing once answered."""
    asked = any(e.action == PetitionAction.INFO_REQUEST for e in events)
    status = petition.status
    out = [
        Deadline(
            _("Refuse by"),
            petition.refuse_by,
            deadline_status(petition.refuse_by, now) if status == PetitionStatus.RECEIVED else None,
        ),
        Deadline(
            _("First request for information by"),
            petition.info_by,
            deadline_status(petition.info_by, now)
            if status in (PetitionStatus.RECEIVED, PetitionStatus.IN_PROGRESS) and not asked
            else None,
        ),
        Deadline(
            _("Answer by"),
            petition.answer_by,
            deadline_status(petition.answer_by, now) if status in OPEN_STATUSES else None,
        ),
    ]
    if petition.publish_by is not None:
        out.append(
            Deadline(
                _("Publish by"),
                petition.publish_by,
                deadline_status(petition.publish_by, now)
                if status == PetitionStatus.ANSWERED
                else None,
            )
        )
    return out


def worst_mark(petition: PetitionRecord, now: datetime) -> str:
    """The list's marker: the most urgent of the deadlines that matter at this stage (the
    information request is not known without the events, so the list leaves it out)."""
    relevant: list[date] = []
    if petition.status == PetitionStatus.RECEIVED:
        relevant.append(petition.refuse_by)
    if petition.status in OPEN_STATUSES:
        relevant.append(petition.answer_by)
    if petition.status == PetitionStatus.ANSWERED and petition.publish_by is not None:
        relevant.append(petition.publish_by)
    statuses = [deadline_status(d, now) for d in relevant]
    if DeadlineStatus.OVERDUE in statuses:
        return "🔴"
    if DeadlineStatus.DUE_SOON in statuses:
        return "⚠️"
    return "•"
