"""The dialogs' messages as Zalo can show them: plain text (Zalo has no formatting), links
spelled out, long texts split within Zalo's limit, inline keyboards as button templates, and a
reply keyboard's "share my phone number" key (``request_contact``) as a "request user info"
card when the OA has that feature (else the key is left out: the dialog accepts typed text).

Pure functions: the session (``session.py``) sends what ``plan`` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiogram.types import (
    InlineKeyboardMarkup,
    MessageEntity,
    ReplyKeyboardMarkup,
)

TEXT_LIMIT = 2000  # characters of one Zalo consultation message
BUTTONS_PER_MESSAGE = 5  # buttons one Zalo template holds
TITLE_LIMIT = 100  # characters of a button's title
SUBTITLE_LIMIT = 500  # characters of a "request user info" card's subtitle
MORE_TEXT = "…"  # the text of a message that only carries more buttons


@dataclass(frozen=True)
class ButtonSpec:
    """One button: ``press`` (its title comes back as the user's text and is the press),
    ``url`` (opens ``value``), ``reply`` (a reply-keyboard button: its text is typed), or
    ``contact`` (a ``request_contact`` key: sent as a "request user info" card)."""

    title: str
    kind: Literal["press", "url", "reply", "contact"]
    value: str  # callback data, URL, or the text a reply button types
    payload: str = ""  # what a press sends back (``tagged``); a reply button sends its text


def tagged(buttons: list[ButtonSpec], sending: int) -> list[ButtonSpec]:
    """The buttons of the ``sending``-th message sent to a chat, each press with a payload no
    other message of that chat has ("Chi tiết #12"): the same title on two messages (every
    dossier push has "Chi tiết") must still reach its own message's target."""
    return [
        ButtonSpec(b.title, b.kind, b.value, f"{b.title} #{sending}" if b.kind == "press" else "")
        for b in buttons
    ]


@dataclass(frozen=True)
class ZaloMessagePlan:
    """One Zalo message: ``text`` with ``buttons``; or, with ``request_title``, a "request
    user info" card of that title whose subtitle is ``text``."""

    text: str
    buttons: tuple[ButtonSpec, ...] = ()
    request_title: str | None = None


def _utf16_to_index(text: str) -> list[int]:
    """For each UTF-16 offset, the Python string index (entities count UTF-16 code units)."""
    index: list[int] = []
    for i, ch in enumerate(text):
        index.extend([i] * (2 if ord(ch) > 0xFFFF else 1))
    index.append(len(text))
    return index


def spell_out_links(text: str, entities: list[MessageEntity]) -> str:
    """``<a href="u">t</a>`` becomes ``t (u)`` (the URL alone when ``t`` is it)."""
    links = sorted((e for e in entities if e.type == "text_link" and e.url), key=lambda e: e.offset)
    if not links:
        return text
    at = _utf16_to_index(text)
    out: list[str] = []
    cursor = 0
    for link in links:
        start, end = at[link.offset], at[min(link.offset + link.length, len(at) - 1)]
        if start < cursor:
            continue  # nested or overlapping: keep the first
        label = text[start:end]
        out.append(text[cursor:end])
        if label.strip() != link.url:
            out.append(f" ({link.url})")
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at a blank line, else a line
    end, else a space, else anywhere."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator, 0, limit)
            if cut > limit // 4:
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def _title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_LIMIT else text[: TITLE_LIMIT - 1].rstrip() + "…"


def buttons_of(markup: object, *, contact: bool = False) -> list[ButtonSpec]:
    """The buttons of an inline or reply keyboard, titles made unique within the message (two
    "Xem" become "Xem" and "Xem (2)"). A ``request_contact`` key is a ``contact`` button when
    ``contact`` (the OA sends "request user info" cards), else left out like a location key."""
    specs: list[ButtonSpec] = []
    if isinstance(markup, InlineKeyboardMarkup):
        for row in markup.inline_keyboard:
            for button in row:
                if button.callback_data is not None:
                    specs.append(ButtonSpec(_title(button.text), "press", button.callback_data))
                elif button.url is not None:
                    specs.append(ButtonSpec(_title(button.text), "url", button.url))
    elif isinstance(markup, ReplyKeyboardMarkup):
        for keys in markup.keyboard:
            for key in keys:
                if key.request_contact and contact:
                    specs.append(ButtonSpec(_title(key.text), "contact", ""))
                    continue
                if key.request_contact or key.request_location:
                    continue  # Zalo has no such button: the dialog also accepts typed text
                specs.append(ButtonSpec(_title(key.text), "reply", key.text))
    seen: dict[str, int] = {}
    unique: list[ButtonSpec] = []
    for spec in specs:
        count = seen.get(spec.title, 0) + 1
        seen[spec.title] = count
        title = spec.title if count == 1 else _title(f"{spec.title} ({count})")
        unique.append(ButtonSpec(title, spec.kind, spec.value))
    return unique


def _subtitle(text: str) -> str:
    """A card's subtitle from a message's text: its last paragraph (where the dialogs say what
    the key is for), cut to :data:`SUBTITLE_LIMIT` at a space."""
    paragraphs = [p.strip() for p in text.strip().split("\n\n") if p.strip()]
    last = " ".join((paragraphs[-1] if paragraphs else MORE_TEXT).split())
    if len(last) <= SUBTITLE_LIMIT:
        return last
    cut = last.rfind(" ", 0, SUBTITLE_LIMIT - 1)
    return last[: cut if cut > SUBTITLE_LIMIT // 2 else SUBTITLE_LIMIT - 1].rstrip() + "…"


def plan(text: str, buttons: list[ButtonSpec]) -> list[ZaloMessagePlan]:
    """The Zalo messages one dialog message becomes: its text in pieces, the buttons on the
    last piece, five per message (more follow in messages of their own), and last a "request
    user info" card for a ``contact`` button (its title the key's text, its subtitle the
    message's last paragraph). A message that is only a card's purpose (one paragraph that fits
    the subtitle, no other button) becomes the card alone: the same words twice say nothing."""
    cards = [
        ZaloMessagePlan(_subtitle(text), request_title=b.title)
        for b in buttons
        if b.kind == "contact"
    ][:1]
    buttons = [b for b in buttons if b.kind != "contact"]
    if cards and not buttons and cards[0].text == " ".join(text.split()):
        return cards
    return _messages(text, buttons) + cards


def _messages(text: str, buttons: list[ButtonSpec]) -> list[ZaloMessagePlan]:
    pieces = split_text(text) or [MORE_TEXT]
    groups = [
        tuple(buttons[i : i + BUTTONS_PER_MESSAGE])
        for i in range(0, len(buttons), BUTTONS_PER_MESSAGE)
    ]
    if not groups:
        return [ZaloMessagePlan(piece) for piece in pieces]
    messages = [ZaloMessagePlan(piece) for piece in pieces[:-1]]
    messages.append(ZaloMessagePlan(pieces[-1], groups[0]))
    messages.extend(ZaloMessagePlan(MORE_TEXT, group) for group in groups[1:])
    return messages
