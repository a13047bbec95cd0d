"""Telegram's HTML parse mode for the channels that are not Telegram.

The dialogs write Telegram HTML (``<b>``, ``<i>``, ``<a href>``, ``<tg-spoiler>`` ...). A channel
that shows the bot's messages itself (the web chat today, Zalo tomorrow) parses them here into
the plain text and UTF-16 entities Telegram would have made, raising like Telegram's "can't parse
entities" for what Telegram refuses.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any, ClassVar

from aiogram.types import MessageEntity


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramHTMLError(ValueError):
    pass


class _TelegramHTMLParser(HTMLParser):
    """Telegram's HTML parse mode: the same tags, plain text + UTF-16 entities out."""

    _SIMPLE: ClassVar[dict[str, str]] = {
        "b": "bold",
        "strong": "bold",
        "i": "italic",
        "em": "italic",
        "u": "underline",
        "ins": "underline",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "tg-spoiler": "spoiler",
        "code": "code",
        "pre": "pre",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._position = 0  # in UTF-16 code units; HTMLParser owns `offset`
        self.entities: list[dict[str, Any]] = []
        self._open: list[tuple[str, dict[str, Any] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        entity: dict[str, Any] | None
        if tag in self._SIMPLE:
            entity = {"type": self._SIMPLE[tag]}
            if tag == "code" and self._open and self._open[-1][0] == "pre":
                pre = self._open[-1][1]
                language = (attributes.get("class") or "").removeprefix("language-")
                if pre is not None and language:
                    pre["language"] = language
                entity = None  # <pre><code> is one pre entity
        elif tag == "span":
            if attributes.get("class") != "tg-spoiler":
                raise TelegramHTMLError('Unsupported start tag "span"')
            entity = {"type": "spoiler"}
        elif tag == "a":
            href = attributes.get("href")
            if not href:
                raise TelegramHTMLError('Tag "a" must have attribute "href"')
            entity = {"type": "text_link", "url": href}
        elif tag == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attributes else "blockquote"
            entity = {"type": kind}
        elif tag == "tg-emoji":
            entity = None  # custom emoji: the page shows the fallback emoji text
        else:
            raise TelegramHTMLError(f'Unsupported start tag "{tag}"')
        if entity is not None:
            entity["offset"] = self._position
        self._open.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            raise TelegramHTMLError(f'Unmatched end tag "{tag}"')
        _, entity = self._open.pop()
        if entity is not None:
            entity["length"] = self._position - entity["offset"]
            if entity["length"] > 0:
                self.entities.append(entity)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise TelegramHTMLError(f'Unsupported start tag "{tag}"')

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self._position += utf16_len(data)

    def finish(self) -> tuple[str, list[dict[str, Any]]]:
        self.close()
        if self._open:
            tag = self._open[-1][0]
            raise TelegramHTMLError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), self.entities


def parse_telegram_html(html: str) -> tuple[str, list[MessageEntity]]:
    """`<b>Hi</b> &amp; bye` -> ("Hi & bye", [bold 0..2]); raises TelegramHTMLError like
    Telegram's "can't parse entities"."""
    parser = _TelegramHTMLParser()
    parser.feed(html)
    text, entities = parser.finish()
    return text, [MessageEntity(**entity) for entity in entities]
