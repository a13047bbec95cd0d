"""Chat text as Telegram sees it: HTML quoting, lengths in UTF-16 units, the message limit,
and shortening at a word boundary. Shared by every feature's renderers."""

from __future__ import annotations

from aiogram.utils.text_decorations import html_decoration

TELEGRAM_TEXT_LIMIT = 4096
"""Telegram's limit for one message, in characters after entity parsing."""


def text_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): emoji and rare CJK count twice."""
    return len(text.encode("utf-16-le")) // 2


def quote(text: str) -> str:
    """`text` escaped for HTML parse mode."""
    return html_decoration.quote(text)


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, adding an ellipsis."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: max(1, limit - 1)]
    space = cut.rfind(" ")
    if space >= limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-–") + "…"
