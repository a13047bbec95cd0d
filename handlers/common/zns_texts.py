"""What the ZNS consent says: the card's purpose, the masked number kept, how to stop (HTML,
current locale)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from handlers.markup import quote


def card_title() -> str:
    """The title of the card that asks for the phone ZNS messages go to."""
    return _("📱 Get ZNS notifications")


def card_text() -> str:
    """The card's purpose, one paragraph (on Zalo the card's subtitle)."""
    return _(
        "Get notifications by ZNS message after 48 hours: share your phone number. It is used "
        "only to send you these notifications; /stopzns stops them."
    )


def kept_text(masked: str) -> str:
    return _(
        "✅ Saved: after 48 hours, notifications reach you as a Zalo notification (ZNS) sent to "
        "{phone}. To stop, send /stopzns or tap “Stop ZNS”."
    ).format(phone=quote(masked))


def not_mobile_text() -> str:
    return _(
        "This is not a Vietnamese mobile number, so ZNS messages cannot reach it. Please share a "
        "mobile number with the card, for example 0912 345 678."
    )


def stop_button() -> str:
    return _("🔕 Stop ZNS")


def stopped_text() -> str:
    return _(
        "🔕 Done: your phone number is no longer kept and no ZNS message will be sent to it. A "
        "notification after 48 hours now reaches you as soon as you send us any message."
    )


def nothing_kept_text() -> str:
    return _("No phone number is kept for ZNS messages in this chat.")
