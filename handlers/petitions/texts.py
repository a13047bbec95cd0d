"""Texts shared by the petition dialogs: the petitions menu, "private chats only", a cancelled
or stale form, and the per-chat limit reached.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_date, format_number
from knowledge.workdays import to_local


def menu_text() -> str:
    return "\n\n".join(
        [
            "<b>" + _("✍️ Feedback and petitions (phản ánh, kiến nghị)") + "</b>",
            _(
                "Tell the administration about a problem with an administrative procedure or "
                "regulation, or with the service at a public service centre, and propose how to "
                "fix it. You get a tracking code, and I tell you here when the agency answers."
            ),
            _(
                "Complaints and denunciations (khiếu nại, tố cáo) and requests for legal advice "
                "follow other procedures; I will tell you where to send them."
            ),
        ]
    )


def private_only_text() -> str:
    return _(
        "🔐 Petitions hold your name, phone number and address, so they are sent only in a "
        "private chat with me. Please open a private chat with me and send /phananh there."
    )


def cancelled_text() -> str:
    return _("✖️ Your petition was cancelled; nothing was sent.")


def stale_form_text() -> str:
    return _("This form is no longer open. Send /phananh to start again.")


def limit_text(until: datetime, per_hour: int, per_day: int) -> str:
    local = to_local(until.astimezone(UTC))
    return "\n\n".join(
        [
            "⏳ "
            + _(
                "To keep the service fair for everyone, one chat can send at most {hour} "
                "petitions an hour and {day} a day."
            ).format(hour=format_number(per_hour), day=format_number(per_day)),
            _("You can send your next petition after {time} on {date}.").format(
                time=local.strftime("%H:%M"), date=format_date(local.date())
            ),
        ]
    )
