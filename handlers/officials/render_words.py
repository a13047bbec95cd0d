"""The words of the officials' texts: petition statuses, list filters, history steps and
roles as labels, local times, and how long a button's text may be."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_datetime
from knowledge.workdays import to_local
from storage.petitions import (
    ANSWER,
    ANSWERED,
    IN_PROGRESS,
    INFO_PROVIDED,
    INFO_REQUEST,
    INFO_REQUESTED,
    PUBLICATION,
    PUBLISHED,
    RECEIVED,
    REFUSAL,
    REFUSED,
    REROUTED,
    ROLE_ADMIN,
    SUBMITTED,
    TAKEN,
)

from .callbacks import ListFilter

BUTTON_TEXT_CHARS = 48


def status_label(status: str) -> str:
    labels = {
        RECEIVED: _("New"),
        IN_PROGRESS: _("In progress"),
        INFO_REQUESTED: _("Waiting for the citizen"),
        ANSWERED: _("Answered, awaiting publication"),
        PUBLISHED: _("Published"),
        REFUSED: _("Refused"),
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
    labels = {
        SUBMITTED: _("Submitted by the citizen"),
        TAKEN: _("Taken"),
        INFO_REQUEST: _("More information requested"),
        INFO_PROVIDED: _("The citizen replied"),
        ANSWER: _("Answered"),
        REFUSAL: _("Refused"),
        PUBLICATION: _("Answer published"),
        REROUTED: _("Re-routed to this agency"),
    }
    return labels.get(action, action)


def role_label(role: str) -> str:
    return _("administrator") if role == ROLE_ADMIN else _("officer")


def local_time(moment: datetime) -> str:
    """A moment as the official reads it: date and time in Vietnam."""
    return format_datetime(to_local(moment))
