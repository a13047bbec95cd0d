"""What the dossier dialogs say: asking for the code and the second factor, refusals and
lockouts, following and the thanks for a rating (HTML, current locale)."""

from __future__ import annotations

from datetime import datetime

from aiogram.utils.i18n import gettext as _

from handlers.formatting import format_date
from handlers.markup import quote

from . import render


def ask_code_text() -> str:
    return "\n\n".join(
        [
            "<b>" + _("🔍 Dossier status") + "</b>",
            _(
                "Send me the dossier code printed on your receipt, for example "
                "<code>000.00.17.H12-220615-0001</code>. Spaces, dots and capital letters do "
                "not matter."
            ),
        ]
    )


def ask_factor_text(code: str, sharing: str | None) -> str:
    """``sharing``: how the channel shares a phone number with a button ("vouched",
    "claimed" or None, see ``handlers.common.contact_sharing``)."""
    parts = [
        _("Dossier code: <code>{code}</code>").format(code=quote(code)),
        _(
            "🔐 To protect the applicant's data, please send the <b>last 4 digits</b> of the "
            "phone number or the ID number given when the dossier was submitted."
        ),
    ]
    if sharing == "vouched":
        parts.append(_("Or tap “Share my phone number” below if you submitted it yourself."))
    elif sharing == "claimed":
        parts.append(
            _(
                "Or tap “Share my phone number” below and give the full phone number that was "
                "given when the dossier was submitted."
            )
        )
    return "\n\n".join(parts)


def incomplete_code_text() -> str:
    return _(
        "🤔 This looks like a dossier code, but part of it is missing. A complete code looks "
        "like <code>000.00.17.H12-220615-0001</code>: the receiving unit, the date (YYMMDD) and "
        "a 4-digit number. Please check your receipt and send it again."
    )


def private_only_text() -> str:
    return _(
        "🔐 To protect your data, dossiers are looked up only in a private chat with me. "
        "Please open a private chat and send the code there."
    )


def factor_format_text() -> str:
    return _("Please send exactly 4 digits, for example 6789.")


def mismatch_text(left: int, *, phone: bool = False) -> str:
    """``phone``: the factor was a full phone number, not 4 digits."""
    if phone:
        text = _(
            "❌ This dossier code and this phone number do not match our records. Check the code "
            "on your receipt and the phone number given when submitting, or send the last 4 "
            "digits instead."
        )
    else:
        text = _(
            "❌ This dossier code and these digits do not match our records. Check the code on "
            "your receipt and the last 4 digits of the phone number or ID number given when "
            "submitting."
        )
    if left > 0:
        text += "\n" + _("Attempts left: {count}.").format(count=left)
    return text


def locked_text(until: datetime) -> str:
    local = until.astimezone(render.LOCAL_TZ)
    return _(
        "🔒 Too many unsuccessful attempts. For the applicants' safety, please try again after "
        "{time}."
    ).format(time=local.strftime("%H:%M"))


def code_locked_text(until: datetime, vouched: bool) -> str:
    local = until.astimezone(render.LOCAL_TZ)
    text = _(
        "🔒 This dossier code has had too many unsuccessful attempts, so for the applicant's "
        "safety digits are not accepted for it until {time} on {date}. If it is your dossier, "
        "the centre where you submitted it can help."
    ).format(time=local.strftime("%H:%M"), date=format_date(local.date()))
    if vouched:
        text += "\n\n" + _(
            "If you submitted it yourself, you can still tap “Share my phone number” below."
        )
    return text


def not_your_contact_text() -> str:
    return _("Please share your own phone number with the button, not someone else's contact.")


def followed_text() -> str:
    return _("🔔 Done. I will send you a message here whenever the status of this dossier changes.")


def followed_zalo_note() -> str:
    return _(
        "Zalo lets us write to you only within 48 hours of your last message: a change after "
        "that reaches you as soon as you send us any message."
    )


def followed_zalo_zns_note(masked_phone: str) -> str:
    """``masked_phone``: the phone kept for ZNS, masked ("09•••••777")."""
    return _(
        "Zalo lets us write to you here only within 48 hours of your last message: a change "
        "after that is sent as a Zalo notification (ZNS) to {phone}, the number you gave us for "
        "it, or, if that is not possible, reaches you as soon as you send us any message. "
        "/stopzns stops ZNS messages."
    ).format(phone=quote(masked_phone))


def followed_zalo_zns_offer_note() -> str:
    return _(
        "Zalo lets us write to you here only within 48 hours of your last message: a change "
        "after that reaches you as soon as you send us any message, or as a Zalo notification "
        "(ZNS) if you share your phone number with the card below."
    )


def unfollowed_text() -> str:
    return _("🔕 You no longer follow this dossier.")


def not_entitled_text() -> str:
    return _("For your safety, please look the dossier up again with its code.")


def thanks_rating_text(level: int) -> str:
    return _("🙏 Thank you! Your rating: {label}").format(label=render.rating_label(level))


def verified_text() -> str:
    return _("✅ Verified.")
