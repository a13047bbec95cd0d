"""What the web chat accepts from a browser: its limits, the error that refuses the rest, and the
cleaning of typed text and pressed buttons before they become aiogram Updates."""

from __future__ import annotations

import re

from bot.channels.updates import MAX_TEXT_CHARS, clean_user_text

MAX_BODY_BYTES = 16 * 1024
MAX_CALLBACK_DATA_BYTES = 64  # Telegram's limit for callback_data
MAX_CLIENT_ID_CHARS = 64

_CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

__all__ = [
    "MAX_TEXT_CHARS",
    "WebChatInputError",
    "clean_user_text",
    "validate_callback_data",
    "validate_client_id",
]


class WebChatInputError(ValueError):
    """Browser input the channel refuses; `status` and `code` become the HTTP error response."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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
