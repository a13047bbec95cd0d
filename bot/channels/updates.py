"""What every channel that is not Telegram shares on the way in: cleaning what a person typed,
and building the Telegram ``Update`` the dialogs expect from it (a message, with its command
entity, or a press on an inline button of one of the bot's messages).

The dialogs exist once (``handlers/``); a channel only says who wrote, in which chat, what.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import deque
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiogram import Bot
from aiogram.types import Update

from bot.channels.telegram_html import utf16_len

MAX_TEXT_CHARS = 4096  # Telegram's limit for one message
COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")


def clean_user_text(raw: str, limit: int = MAX_TEXT_CHARS) -> str:
    """NFC; NUL, control, lone-surrogate and format-override characters removed (newlines and
    tabs kept, CRLF -> LF); trimmed; cut to `limit` characters like Telegram does."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    kept: list[str] = []
    for ch in text:
        if ch in "\n\t":
            kept.append(ch)
            continue
        category = unicodedata.category(ch)
        # Cc: C0/C1 controls incl. NUL; Cs: lone surrogates from "\ud800" JSON escapes, which
        # could not even be encoded as UTF-8 later.
        if category in ("Cc", "Cs"):
            continue
        # Bidi overrides/isolates can visually disguise text; zero-width joiners are kept
        # (emoji sequences need them).
        if "\u202a" <= ch <= "\u202e" or "\u2066" <= ch <= "\u2069":
            continue
        kept.append(ch)
    return "".join(kept).strip()[:limit]


def private_chat(chat_id: int, first_name: str) -> dict[str, Any]:
    return {"id": chat_id, "type": "private", "first_name": first_name}


def person(user_id: int, first_name: str, language: str | None) -> dict[str, Any]:
    """The ``from`` of an update: a person (``language_code`` like a Telegram client's)."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language:
        user["language_code"] = language
    return user


def text_update(
    bot: Bot,
    *,
    update_id: int,
    message_id: int,
    chat: dict[str, Any],
    user: dict[str, Any],
    text: str,
    extra: dict[str, Any] | None = None,
) -> Update:
    """A message the person typed; a leading ``/command`` gets its entity, as Telegram's does.
    ``extra`` adds message fields (a photo, a contact ...)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "date": datetime.now(UTC),
        "chat": chat,
        "from": user,
    }
    if text:
        message["text"] = text
        if command := COMMAND_RE.match(text):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))}
            ]
    message.update(extra or {})
    data = {"update_id": update_id, "message": message}
    return Update.model_validate(data, context={"bot": bot})


def callback_update(
    bot: Bot,
    *,
    update_id: int,
    query_id: str,
    user: dict[str, Any],
    chat_instance: str,
    message: dict[str, Any],
    data: str,
) -> Update:
    """A press on the inline button ``data`` of the bot's ``message``."""
    query = {
        "id": query_id,
        "from": user,
        "chat_instance": chat_instance,
        "message": message,
        "data": data,
    }
    payload = {"update_id": update_id, "callback_query": query}
    return Update.model_validate(payload, context={"bot": bot})


UNHANDLED_KEPT = 100  # the latest unhandled updates a channel keeps
UNHANDLED_LOG = "%s update %s (%s) was not handled by any router"


class Unhandled(NamedTuple):
    """An update no router took: its id and its kind ("message", "callback_query"), never what
    the person typed."""

    update_id: int
    event_type: str


class UnhandledUpdateError(AssertionError):
    """Raised by a strict channel (tests) when no router took an update."""


class UnhandledUpdates:
    """A channel's record of the updates no router took: logged (id and kind only), counted
    (``total``), the latest ``UNHANDLED_KEPT`` kept (``latest``); ``strict`` (tests) raises."""

    def __init__(self, channel: str, log: logging.Logger, *, strict: bool = False) -> None:
        self.channel = channel
        self.log = log
        self.strict = strict
        self.total = 0
        self.latest: deque[Unhandled] = deque(maxlen=UNHANDLED_KEPT)

    def record(self, update: Update) -> None:
        entry = Unhandled(update.update_id, update.event_type)
        self.log.info(UNHANDLED_LOG, self.channel, *entry)
        self.total += 1
        self.latest.append(entry)
        if self.strict:
            raise UnhandledUpdateError(f"no router took {self.channel} update {_describe(update)}")


def _describe(update: Update) -> str:
    """The update for a strict channel's error (a test's): its id, kind and content."""
    if update.callback_query is not None:
        return f"{update.update_id} (callback_query, data={update.callback_query.data!r})"
    text = update.message.text if update.message is not None else None
    return f"{update.update_id} ({update.event_type}, text={text!r})"
