"""The words of the officials' texts: petition statuses, list filters, history steps and
roles as labels, local times, and how long a button's text may be."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_datetime
from knowledge.petition_workflow import OfficialRole, PetitionAction, PetitionStatus
from knowledge.workdays import to_local

from .callbacks import ListFilter

BUTTON_TEXT_CHARS = 48


def status_label(status: str) -> str:
    labels: dict[str, str] = {
        PetitionStatus.RECEIVED: _("New"),
        PetitionStatus.IN_PROGRESS: _("In progress"),
        PetitionStatus.INFO_REQUESTED: _("Waiting for the citizen"),
        PetitionStatus.ANSWERED: _("Answered, awaiting publication"),
        PetitionStatus.PUBLISHED: _("Published"),
        PetitionStatus.REFUSED: _("Refused"),
    }
    return labels.get(status, status)


def filter_label(kind: ListFilter) -> str:
    labels = {
        ListFilter.OPEN: _("All open"),
        ListFilter.NEW: _("New"),
        ListFilter.IN_PROGRESS: _("In progress"),
        ListFilter.WAITING: _("Waiting for citizen"),
        ListFilter.ANSWERED: _("To publish"),
    }
    return labels[kind]


def event_label(action: str) -> str:
    labels: dict[str, str] = {
        PetitionAction.SUBMITTED: _("Submitted by the citizen"),
        PetitionAction.TAKEN: _("Taken"),
        PetitionAction.INFO_REQUEST: _("More information requested"),
        PetitionAction.INFO_PROVIDED: _("The citizen replied"),
        PetitionAction.ANSWER: _("Answered"),
        PetitionAction.REFUSAL: _("Refused"),
        PetitionAction.PUBLICATION: _("Answer published"),
        PetitionAction.REROUTED: _("Re-routed to this agency"),
    }
    return labels.get(action, action)


def role_label(role: str) -> str:
    return _("administrator") if role == OfficialRole.ADMIN else _("officer")


def local_time(moment: datetime) -> str:
    """A moment as the official reads it: date and time in Vietnam."""
    return format_datetime(to_local(moment))
