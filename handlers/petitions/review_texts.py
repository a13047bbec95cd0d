"""Texts of the review screen (every field shown in full, split over messages when long) and
of the thank-you with the tracking code.
"""

from __future__ import annotations

from datetime import date

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_date
from handlers.markup import quote

from .form_data import ADDRESS, CONTACT, CONTENT, FILES, NAME, REVIEW, TOPIC, FormData, steps_for
from .labels import field_label, file_label, topic_label
from .splitting import split_blocks
from .step_texts import step_line


def _contact_value(form: FormData) -> str:
    return form.phone or form.email or "—"


def render_review(form: FormData, channel: str) -> list[str]:
    """The review screen; when the content is long it goes in messages of its own before the
    card (the last message, which carries the buttons), so every field is shown in full."""
    steps = steps_for(channel)
    head = step_line(REVIEW, channel) + "\n<b>" + _("📋 Please check your petition") + "</b>"
    fields_block: list[tuple[str | None, str]] = [
        (
            field_label(TOPIC),
            topic_label(form.topic_kind, form.topic)
            + (f" ({form.procedure_code})" if form.procedure_code else ""),
        ),
    ]
    tail: list[tuple[str | None, str]] = []
    if FILES in steps:
        tail.append(
            (
                field_label(FILES),
                "\n".join(f"{i}. {file_label(f)}" for i, f in enumerate(form.files, 1))
                if form.files
                else _("none"),
            )
        )
    tail += [
        (field_label(NAME), form.name or "—"),
        (field_label(CONTACT), _contact_value(form)),
        (field_label(ADDRESS), form.address or "—"),
    ]
    footer = _("If everything is right, tap “Submit the petition”.")
    whole = split_blocks(
        [*fields_block, (field_label(CONTENT), form.content or "—"), *tail, (None, footer)],
        head=head,
    )
    if len(whole) == 1:
        return whole
    content = split_blocks(
        [(field_label(CONTENT), form.content or "—")],
        head="<b>" + _("📋 Your petition, content in full:") + "</b>",
    )
    card = split_blocks(
        [*fields_block, (field_label(CONTENT), _("(in full above)")), *tail, (None, footer)],
        head=head,
    )
    return content + card


def thanks_text(tracking_code: str, agency_name: str, answer_by: date) -> str:
    return "\n\n".join(
        [
            "✅ <b>" + _("Thank you! Your petition has been received.") + "</b>",
            _("Tracking code: {code}").format(code=f"<code>{quote(tracking_code)}</code>"),
            _("Sent to: {agency}").format(agency=quote(agency_name)),
            _("The agency answers by {date} at the latest (15 working days).").format(
                date=format_date(answer_by)
            ),
            _(
                "I will message you here when the agency takes it up, asks for more information "
                "or answers. To check it yourself, send me the tracking code at any time."
            ),
        ]
    )
