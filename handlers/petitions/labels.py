"""Short labels used across the petition texts and buttons: statuses, topics, form fields,
attached files, dates, and the typed buttons of the phone step.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_date, format_number
from handlers.markup import shorten
from knowledge.workdays import to_local

from .form_data import ADDRESS, CONTACT, CONTENT, FILES, NAME, TOPIC, TOPIC_OTHER, TOPIC_SERVICE


def status_label(status: str) -> str:
    labels = {
        "received": _("Received, waiting to be handled"),
        "in_progress": _("Being handled"),
        "info_requested": _("More information needed from you"),
        "answered": _("Answered; the answer will be published soon"),
        "published": _("Answered and published"),
        "refused": _("Not accepted"),
    }
    return labels.get(status, status)


def step_label(action: str) -> str:
    """A step of a petition in a few words (a message template's ``status``, ≤ 30 characters)."""
    labels = {
        "taken": _("Being handled"),
        "info_requested": _("More information needed"),
        "answered": _("Answered"),
        "refused": _("Not accepted"),
        "published": _("Answer published"),
    }
    return labels.get(action, action)


def status_icon(status: str) -> str:
    return {
        "received": "📥",
        "in_progress": "⏳",
        "info_requested": "❓",
        "answered": "✅",
        "published": "📢",
        "refused": "⛔",
    }.get(status, "•")


def topic_label(topic_kind: str | None, topic: str | None) -> str:
    if topic_kind == TOPIC_SERVICE:
        return _("Service at a centre (attitude, waiting, fees…)")
    if topic_kind == TOPIC_OTHER:
        return _("Another administrative regulation")
    return topic or "—"


def local_date(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return format_date(to_local(value).date())
    return format_date(value)


def field_label(step: str) -> str:
    return {
        TOPIC: _("Topic"),
        CONTENT: _("Content"),
        FILES: _("Attachments"),
        NAME: _("Full name"),
        CONTACT: _("Phone or e-mail"),
        ADDRESS: _("Address"),
    }.get(step, step)


def file_size_text(size: int | None) -> str:
    if not size:
        return ""
    if size >= 1024 * 1024:
        return format_number(round(size / (1024 * 1024), 1)) + " MB"
    return format_number(max(1, round(size / 1024))) + " KB"


def file_label(file: dict[str, Any]) -> str:
    photo = file.get("kind") == "photo" or file.get("media") == "photo"  # a linked photo too
    name = str(file.get("name") or "") or (_("photo") if photo else _("file"))
    size = file_size_text(file.get("size") if isinstance(file.get("size"), int) else None)
    return shorten(name, 60) + (f" ({size})" if size else "")


def share_contact_label() -> str:
    return _("📱 Share my phone number")


def back_label() -> str:
    return _("⬅️ Back")


def keep_label() -> str:
    return _("➡️ Keep it and continue")


def cancel_label() -> str:
    return _("✖️ Cancel")
