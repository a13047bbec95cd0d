"""Whether a channel lets a citizen share a phone number with a button, and how much that
number proves.

- ``"vouched"`` (Telegram): a ``request_contact`` key shares the user's own contact; Telegram
  fills ``contact.user_id`` with the sender's id, so the number is the sender's.
- ``"claimed"`` (Zalo with "request user info"): the key becomes Zalo's form; the number
  comes back as a contact **without** ``user_id`` — the citizen typed it and nobody vouches it
  is theirs. It is worth what typing it is worth: knowing a full number.
- ``None`` (the web chat, Zalo without the feature): no key; the dialogs ask for typed text.

The dialogs ask this, never a channel's name: a channel tells them with a ``contact_sharing``
attribute on its ``Bot`` (Telegram's own bot has none and is ``"vouched"``).

A contact without ``user_id`` is a *claimed* number on every channel — on Telegram that is a
card from the phone book, which proves exactly as much (someone chose that number). So the
filter below needs no channel: the dialogs route a claimed contact to a handler that treats it
as knowledge of the number, never as proof of ownership.
"""

from __future__ import annotations

from typing import Literal

from aiogram import Bot
from aiogram.types import Message

from handlers.i18n import channel_of

ContactSharing = Literal["vouched", "claimed"]


def contact_sharing(bot: Bot | None) -> ContactSharing | None:
    """How the channel of ``bot`` shares a phone number with a button (module docstring)."""
    if channel_of(bot) == "telegram":
        return "vouched"
    value = getattr(bot, "contact_sharing", None)
    return value if value in ("vouched", "claimed") else None


def claimed_contact(message: Message) -> bool:
    """Filter: a contact nobody vouches is the sender's own (no ``user_id``)."""
    return message.contact is not None and message.contact.user_id is None


def offers_claimed_contacts(message: Message, bot: Bot) -> bool:
    """Filter: the channel sends forms whose answer is a claimed contact (Zalo's)."""
    return contact_sharing(bot) == "claimed"
