"""The message filters of the petition router: not a command, a tracking code in a text, a text
asking to send feedback, a left-over button of the phone step's reply keyboard.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram.types import Message

from knowledge.normalize import clean_text, loose_equal
from knowledge.petitions import parse_tracking_code

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]+(@\w+)?(\s|$)")


def not_command(message: Message) -> bool:
    return not _COMMAND_RE.match(message.text or "")


_WORD_RE = re.compile(r"[^\W_]+")
_INTENT_PAIRS = (("phản", "ánh"), ("kiến", "nghị"), ("góp", "ý"))
_INTENT_WORDS = ("pakn", "feedback", "petition", "petitions")


def asks_for_petition(text: str | None) -> bool:
    """Does a free text ask to send feedback ("tôi muốn phản ánh", "gui kien nghi", "góp ý về
    thủ tục")? "góp ý kiến" (a catalog procedure's wording) does not count."""
    words = [w.lower() for w in _WORD_RE.findall(clean_text(text or ""))]
    if not words or len(words) > 60:
        return False
    if any(w in _INTENT_WORDS for w in words):
        return True
    for i in range(len(words) - 1):
        for first, second in _INTENT_PAIRS:
            if loose_equal(words[i], first) and loose_equal(words[i + 1], second):
                if (
                    (first, second) == ("góp", "ý")
                    and i + 2 < len(words)
                    and loose_equal(words[i + 2], "kiến")
                ):
                    continue
                return True
    return False


def petition_intent(message: Message) -> bool:
    return asks_for_petition(message.text)


def maybe_phone_step_key(message: Message) -> bool:
    """Cheap pre-filter (the locale is not known yet): a shared contact, or a text that starts
    like a typed button of the phone step's reply keyboard (Back, Cancel, Keep)."""
    return message.contact is not None or (message.text or "").startswith(("⬅️", "✖️", "➡️"))


def tracking_code_in(message: Message) -> dict[str, Any] | bool:
    parsed = parse_tracking_code(message.text or "")
    return {"tracking_code": parsed} if parsed is not None else False
