"""What the web chat accepts from a browser: its limits, the error that refuses the rest, and the
cleaning of typed text and pressed buttons before they become aiogram Updates."""

from __future__ import annotations

import re
import unicodedata

MAX_BODY_BYTES = 16 * 1024
MAX_TEXT_CHARS = 4096  # Telegram's limit for one message
MAX_CALLBACK_DATA_BYTES = 64  # Telegram's limit for callback_data
MAX_CLIENT_ID_CHARS = 64

_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class WebChatInputError(ValueError):
    """Browser input the channel refuses; `status` and `code` become the HTTP error response."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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


def validate_callback_data(data: object) -> str:
    if not isinstance(data, str) or not data:
        raise WebChatInputError(400, "invalid_callback", "'data' must be a non-empty string")
    if len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
        raise WebChatInputError(
            400, "callback_too_long", f"'data' exceeds {MAX_CALLBACK_DATA_BYTES} bytes"
        )
    return data


def validate_client_id(client_id: object) -> str | None:
    """The page's optional id of a typed message (echoed back so the page can match it)."""
    if client_id is not None and (
        not isinstance(client_id, str) or _CLIENT_ID_RE.fullmatch(client_id) is None
    ):
        raise WebChatInputError(
            400, "invalid_client_id", "'client_id' must be 1-64 of A-Z a-z 0-9 _ -"
        )
    return client_id
