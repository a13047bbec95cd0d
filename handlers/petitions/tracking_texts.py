"""Texts of tracking: the list of my petitions, a petition's status card for its sender, and
the answers to a wrong or unknown tracking code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_number
from handlers.markup import quote, shorten

from .labels import local_date, status_icon, status_label, topic_label
from .splitting import split_blocks


def my_petitions_text(petitions: Sequence[Any]) -> str:
    if not petitions:
        return "\n\n".join(
            [
                "<b>" + _("📋 My petitions") + "</b>",
                _("You have not sent any petition from this chat yet."),
                _("If you have a tracking code (PAKN-2026-000123), send it to me."),
            ]
        )
    lines = [
        f"{status_icon(p.status)} <code>{quote(p.tracking_code)}</code> · "
        f"{local_date(p.received_at)} — {quote(status_label(p.status))}\n"
        f"    {quote(shorten(topic_label(p.topic_kind, p.topic), 70))}"
        for p in petitions
    ]
    return "\n\n".join(
        [
            "<b>" + _("📋 My petitions") + "</b>",
            "\n".join(lines),
            _("Tap one to see its details, or send me a tracking code."),
        ]
    )


def bad_tracking_code_text() -> str:
    return _(
        "This does not look like a tracking code. A tracking code looks like PAKN-2026-000123 "
        "(PAKN, the year, the number); spaces and dashes do not matter."
    )


def petition_not_found_text() -> str:
    return _(
        "I found no petition sent from this chat with this tracking code. Please check the code; "
        "the status of a petition is shown only in the chat it was sent from."
    )


def render_petition(
    petition: Any,
    agency_name: str,
    *,
    question: str | None = None,
    attachments: int = 0,
    now: datetime | None = None,
) -> list[str]:
    """The sender's own view of their petition (their own data, in their own chat)."""
    head_lines = [
        f"{status_icon(petition.status)} <b>"
        + _("Petition {code}").format(code=quote(petition.tracking_code))
        + "</b>",
        _("Status: {status}").format(status="<b>" + quote(status_label(petition.status)) + "</b>"),
        _("Topic: {topic}").format(
            topic=quote(shorten(topic_label(petition.topic_kind, petition.topic), 200))
        ),
        _("Received: {date}").format(date=local_date(petition.received_at)),
        _("Handled by: {agency}").format(agency=quote(agency_name)),
    ]
    if petition.status in ("received", "in_progress", "info_requested"):
        head_lines.append(_("Answer due by: {date}").format(date=local_date(petition.answer_by)))
    if attachments:
        head_lines.append(_("Attachments: {count}").format(count=format_number(attachments)))
    blocks: list[tuple[str | None, str]] = [(_("Your feedback"), petition.content or "")]
    if petition.status == "info_requested" and question:
        blocks.append((_("The agency asks for more information"), question))
    if petition.status == "refused" and petition.refusal_reason:
        blocks.append((_("Reason"), petition.refusal_reason))
    if petition.status in ("answered", "published") and petition.answer:
        blocks.append((_("The agency's answer"), petition.answer))
    tail = []
    if petition.status == "info_requested":
        tail.append((None, _("Tap “Reply with the information” to answer.")))
    return split_blocks([*blocks, *tail], head="\n".join(head_lines))
