"""What went wrong, in the officials' words: a ``PetitionError`` code or a dialog problem
(expired step, empty or too long text, files that Telegram no longer has)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def error_text(code: str) -> str:
    """A ``PetitionError`` code (or a dialog problem) in words."""
    texts = {
        "not_allowed": _("⛔ You cannot do this for this petition."),
        "wrong_status": _(
            "ℹ️ This is not possible at the petition's current stage (someone may have acted on "
            "it already). Here is the current card."
        ),
        "empty_text": _("✏️ The text is empty. Please type it."),
        "same_agency": _("ℹ️ The petition is already with this agency."),
        "not_found": _(
            "🔎 No petition of your agency has this code. (Petitions of other agencies are not "
            "shown.)"
        ),
        "too_long": _(
            "✏️ This is {count} characters; at most {limit} fit. Please shorten it and send it "
            "again."
        ),
        "not_text": _("✏️ Please type the text as a message (no files or stickers here)."),
        "expired": _("⌛ This step has expired. Open the petition again."),
        "admins_only": _("⛔ Only an administrator of the agency can do this."),
        "no_other_agency": _("ℹ️ There is no other agency to send it to."),
    }
    return texts.get(code, texts["not_allowed"])


def attachments_failed_text(count: int) -> str:
    return _("⚠️ {count} file(s) could not be sent again (Telegram no longer has them).").format(
        count=count
    )
