"""Long petition texts split into Telegram messages: every message stays under
MESSAGE_BUDGET characters (visible and HTML alike), a citizen's text is escaped, and headings
travel with the first line of their block.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from handlers.markup import quote, text_length

MESSAGE_BUDGET = 3800
"""Characters per message (visible and HTML alike): under Telegram's 4096 with room to spare."""


_TOKEN_RE = re.compile(r"\S+\s*|\s+")


def _cut_line(line: str, budget: int) -> list[str]:
    """A line as pieces whose visible and escaped lengths both fit ``budget`` (at word
    boundaries; a word longer than that is cut hard)."""
    if text_length(quote(line)) <= budget:
        return [line]
    step = max(1, budget // 6)  # an escaped character is at most 6 ("&quot;")
    pieces: list[str] = []
    current, size = "", 0
    for token in _TOKEN_RE.findall(line):
        parts = [token[i : i + step] for i in range(0, len(token), step)]
        for part in parts:
            cost = text_length(quote(part))
            if current and size + cost > budget:
                pieces.append(current)
                current, size = "", 0
            current += part
            size += cost
    if current:
        pieces.append(current)
    return pieces


def split_blocks(
    blocks: Sequence[tuple[str | None, str]], *, head: str = "", budget: int = MESSAGE_BUDGET
) -> list[str]:
    """Messages (HTML) holding ``blocks`` of (bold heading, plain text), split at line and word
    boundaries so that none exceeds ``budget`` characters of HTML (so of visible text too, which
    is never longer). ``head`` is
    trusted HTML put on top of the first message (it must be short). Linear in the text: a
    content of thousands of short lines is split in milliseconds."""
    # Units kept together on one message: a heading travels with the first line of its block.
    units: list[tuple[str, bool]] = []  # (html, starts a block)
    for heading, body in blocks:
        lines = [quote(p) for line in (body or "").split("\n") for p in _cut_line(line, budget)]
        lines = lines or [""]
        first = lines[0]
        if heading:
            title = "<b>" + quote(heading) + "</b>"
            joined = title + "\n" + first
            if text_length(joined) <= budget:
                units.append((joined, True))
            else:
                units += [(title, True), (first, False)]
        else:
            units.append((first, True))
        units += [(line, False) for line in lines[1:]]
    messages: list[str] = []
    current: list[str] = [head] if head else []
    size = text_length(head) if head else 0
    for html, starts_block in units:
        separator = "\n\n" if starts_block else "\n"
        cost = text_length(html) + (len(separator) if current else 0)
        if current and size + cost > budget:
            messages.append(_join(current))
            current, size = [], 0
            cost = text_length(html)
        current.append(("\n\n" if starts_block else "\n") + html if current else html)
        size += cost
    if current:
        messages.append(_join(current))
    return [m if m.strip() else "…" for m in messages] or ["…"]


def _join(parts: list[str]) -> str:
    return "".join(parts).strip("\n")
