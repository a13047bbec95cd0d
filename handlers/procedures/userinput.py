"""Cleaning what citizens type before it reaches the search engine (pure, no aiogram)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

from knowledge.normalize import clean_text
from knowledge.search import MAX_QUERY_CHARS, cut_at_word

# Only MAX_QUERY_CHARS characters of a message are used for search; the rest is ignored politely.

_WHITESPACE_RE = re.compile(r"\s+")
# Look-alike quote and dash characters that phones insert; the search only needs plain ones.
_CHAR_MAP = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
_CODE_RE = re.compile(r"(?<![\w.])(\d\.\d{6}(?:\.[0-9A-Za-z]+)*)(?![\w])")


class QueryKind(str, Enum):
    OK = "ok"
    EMPTY = "empty"  # nothing left after removing whitespace and invisible characters
    NO_WORDS = "no_words"  # only emoji, punctuation or symbols


@dataclass(frozen=True, slots=True)
class CleanQuery:
    text: str  # normalised, at most MAX_QUERY_CHARS characters
    kind: QueryKind
    truncated: bool  # the citizen's text was longer than the part used for search
    original_length: int


def normalise_text(raw: str) -> str:
    """The search engine's cleaning (NFC, invisible and control characters, white space), plus
    plain quotes and dashes for the look-alikes phones insert."""
    return _WHITESPACE_RE.sub(" ", clean_text(raw).translate(_CHAR_MAP)).strip()


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in ("L", "N") for ch in text)


def clean_query(raw: str | None, max_chars: int = MAX_QUERY_CHARS) -> CleanQuery:
    """Normalise a citizen's message and classify it for the dialog."""
    text = normalise_text(raw or "")
    if not text:
        return CleanQuery("", QueryKind.EMPTY, False, 0)
    if not _has_words(text):
        return CleanQuery(text[:max_chars], QueryKind.NO_WORDS, len(text) > max_chars, len(text))
    used = cut_at_word(text, max_chars)
    return CleanQuery(used, QueryKind.OK, len(used) < len(text), len(text))


def find_procedure_codes(text: str) -> list[str]:
    """Procedure codes written in the text: "1.001193", "thủ tục 1.012753.H19" -> codes."""
    return [m.group(1).rstrip(".") for m in _CODE_RE.finditer(text)]
