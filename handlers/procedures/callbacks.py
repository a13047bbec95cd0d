"""Callback data of the procedure search: open a result, turn a card's page, take a suggestion.

Every packed value must fit Telegram's 64-byte limit: the longest procedure codes
("2.002307.000.00.00.H35") must still fit with a page number, hence the short prefixes.
"""

from __future__ import annotations

import zlib

from aiogram.filters.callback_data import CallbackData


class OpenProcedure(CallbackData, prefix="po"):
    """Open a procedure card from a list of results (sends a new message)."""

    code: str


class CardPage(CallbackData, prefix="pp"):
    """Show page `page` (0-based) of a card, editing the message in place."""

    code: str
    page: int


class Suggestion(CallbackData, prefix="sg"):
    """Search again with the n-th "did you mean" phrase (phrases are kept in the FSM data;
    `check` is a short hash of the phrase, so a stale button cannot run a newer phrase)."""

    index: int
    check: str


def phrase_check(phrase: str) -> str:
    """8 hex digits identifying a phrase (CRC-32; not security, just staleness)."""
    return format(zlib.crc32(phrase.encode("utf-8")), "08x")
