"""Texts of the published answers: a page of the list and one answer in full, built from
PublicItem (the redacted copies) only.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_number
from handlers.markup import quote, shorten

from .labels import local_date
from .public_item import PublicItem, page_count
from .splitting import split_blocks


def _first_lines(text: str, limit: int) -> str:
    return quote(shorten(" ".join(text.split()), limit))


def public_list_text(items: Sequence[PublicItem], page: int, total: int) -> str:
    if not items:
        return "\n\n".join(
            [
                "<b>" + _("📢 Published answers") + "</b>",
                _("No answer has been published yet."),
            ]
        )
    pages = page_count(total)
    entries = [
        "\n".join(
            [
                f"📄 <b>{quote(p.tracking_code)}</b> · {local_date(p.published_at)}",
                quote(shorten(p.topic, 120)),
                _("Agency: {agency}").format(agency=quote(shorten(p.agency, 100))),
                "❓ " + _first_lines(p.content, 160),
                "💬 " + _first_lines(p.answer, 160),
            ]
        )
        for p in items
    ]
    return "\n\n".join(
        [
            "<b>"
            + _("📢 Published answers")
            + "</b> · "
            + _("page {page} of {pages}").format(
                page=format_number(page + 1), pages=format_number(pages)
            ),
            *entries,
            _("Personal data is removed before publication. Tap one to read it in full."),
        ]
    )


def render_public(item: PublicItem) -> list[str]:
    """A published petition in full: only its public (redacted) copies."""
    head = "\n".join(
        [
            "📢 <b>" + _("Petition {code}").format(code=quote(item.tracking_code)) + "</b>",
            _("Topic: {topic}").format(topic=quote(shorten(item.topic, 300))),
            _("Agency: {agency}").format(agency=quote(item.agency)),
            _("Received: {date}").format(date=local_date(item.received_at)),
            _("Published: {date}").format(date=local_date(item.published_at)),
        ]
    )
    return split_blocks([(_("Feedback"), item.content), (_("Answer"), item.answer)], head=head)


def public_not_found_text() -> str:
    return _("This answer is not published (any more).")
