"""Texts of the citizen's reply to an agency's request for more information."""

from __future__ import annotations

from typing import Any

from aiogram.utils.i18n import gettext as _

from handlers.markup import quote

from .form_data import FILE_CHANNELS
from .splitting import split_blocks


def ask_reply_text(petition: Any, question: str | None, channel: str) -> list[str]:
    head = (
        "<b>"
        + _("✍️ Reply about petition {code}").format(code=quote(petition.tracking_code))
        + "</b>"
    )
    blocks: list[tuple[str | None, str]] = []
    if question:
        blocks.append((_("The agency asks"), question))
    hint = _("Type your answer in one message.")
    if channel in FILE_CHANNELS:
        hint += " " + _(
            "You can send photos or files (JPG, PNG, PDF, DOC(X), XLS(X)) before your text."
        )
    blocks.append((None, hint))
    return split_blocks(blocks, head=head)


def reply_sent_text(tracking_code: str) -> str:
    return _(
        "✅ Your information was sent to the agency handling petition {code}. I will tell you "
        "when there is news."
    ).format(code=f"<code>{quote(tracking_code)}</code>")


def reply_not_waiting_text() -> str:
    return _("This petition is not waiting for information from you any more.")


def reply_cancelled_text() -> str:
    return _("Your reply was not sent.")


def reply_empty_text() -> str:
    return _("Please type your answer in words.")


def reply_after_file_text() -> str:
    return _("Now type your answer, or send the files without text.")
