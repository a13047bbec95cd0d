"""Learning from use: the questions the search did not answer well, without personal data.

A *miss* is a citizen's question the search answered with nothing (``nothing``), with a top
result scored below ``LOW_CONFIDENCE_SCORE`` (``low_confidence``), with a list where the citizen
pressed result #2 or lower (``lower_pick``), or with a list the citizen did not press before
asking something else within ``ASKED_AGAIN_SECONDS`` (``asked_again``).

Only the text is kept, and only when it holds nothing that looks like a person: a question that
names someone ("tôi tên là …", "họ tên: …", "Tôi là Nguyễn …", "my name is …" — but "tôi
là sinh viên" is kept), gives an e-mail address in any
disguise ("an[at]gmail.com", "an @ gmail . com", full-width "＠"), a link, or eight digits or
more however they are separated (a phone, an ID number) is not kept at all — a few lost counts
cost little, a kept name costs much. The text is first NFKC-normalised and its white space
collapsed, so spacing tricks do not hide anything. From the rest, :func:`miss_text` removes what
could still identify someone:
phone numbers, e-mail addresses, ID numbers and house numbers (``knowledge.petitions``'
redaction), receipt codes (every token holding a digit, when ``knowledge.receipt`` sees a code or
an attempt at one), dates (a date of birth) and any run of five digits or more. Procedure codes
("1.001193") are kept: they identify a procedure, not a person. Identical texts (once normalised
and case-folded, :func:`miss_key`) are counted together. Pure code, no I/O.
"""

from __future__ import annotations

import enum
import hashlib
import re
import unicodedata

from knowledge.petitions import redact_personal_data
from knowledge.receipt import looks_like_receipt_attempt, parse_receipt_code

LOW_CONFIDENCE_SCORE = 55.0  # a top hit below this SearchHit.score (0..100) is "low confidence"
ASKED_AGAIN_SECONDS = 120.0  # a new question this soon after an unpressed list: "asked again"
MISS_TEXT_MAX_CHARS = 300
MASK = "***"


class MissKind(str, enum.Enum):
    NOTHING = "nothing"
    LOW_CONFIDENCE = "low_confidence"
    LOWER_PICK = "lower_pick"
    ASKED_AGAIN = "asked_again"


MISS_KINDS = tuple(k.value for k in MissKind)

_SPACES_RE = re.compile(r"\s+")
_PROCEDURE_CODE_RE = re.compile(r"(?<![\w.])\d\.\d{6}(?:\.[0-9A-Za-z]+)*(?![\w])")
_DATE_RE = re.compile(r"(?<!\d)\d{1,4}[/.\-]\d{1,2}[/.\-]\d{1,4}(?!\d)")
# five digits or more, possibly grouped by single spaces, dots or dashes ("0912 345 678")
_DIGIT_RUN_RE = re.compile(r"\d(?:[\s.\-]?\d){4,}")
_TOKEN_WITH_DIGIT_RE = re.compile(r"\S*\d\S*")
_REPEATED_MASK_RE = re.compile(r"(?:\*{3}[\s.,;:\-/]*){2,}")
_PLACEHOLDER = "\x00{}\x00"
_PLACEHOLDER_RE = re.compile("\x00(\\d+)\x00")


def _protect_codes(text: str) -> tuple[str, list[str]]:
    """Procedure codes set aside (they are not personal data), to be put back afterwards."""
    codes: list[str] = []

    def keep(m: re.Match[str]) -> str:
        codes.append(m.group(0))
        return _PLACEHOLDER.format(len(codes) - 1)

    return _PROCEDURE_CODE_RE.sub(keep, text), codes


def redact_query(text: str) -> str:
    """``text`` with personal data replaced by ``***`` (see the module's docstring)."""
    if not text:
        return ""
    has_receipt = parse_receipt_code(text) is not None or looks_like_receipt_attempt(text)
    protected, codes = _protect_codes(redact_personal_data(text))
    if has_receipt:
        protected = _TOKEN_WITH_DIGIT_RE.sub(
            lambda m: m.group(0) if _PLACEHOLDER_RE.fullmatch(m.group(0)) else MASK, protected
        )
    protected = _DATE_RE.sub(MASK, protected)
    protected = _DIGIT_RUN_RE.sub(MASK, protected)
    protected = _REPEATED_MASK_RE.sub(MASK + " ", protected)
    return _PLACEHOLDER_RE.sub(lambda m: codes[int(m.group(1))], protected)


def normalise_miss(text: str) -> str:
    """NFC, white space collapsed and trimmed, at most ``MISS_TEXT_MAX_CHARS`` characters."""
    text = _SPACES_RE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return text[:MISS_TEXT_MAX_CHARS].rstrip()


_NAME_MARKER_RE = re.compile(
    r"\b(?:tên (?:tôi |em |mình |con |cháu |bé )?là|tên là|họ (?:và )?tên|con tôi tên|"
    r"my name is|i am called|name\s*:)",
    re.IGNORECASE,
)
# "tôi là sinh viên" says nothing of who; "tôi là Nguyễn Văn An" does (a capitalised word next)
_INTRODUCTION_RE = re.compile(
    r"\b(?:[Tt]ôi|[Ee]m|[Mm]ình|[Cc]háu|[Cc]on) là\s+[A-ZÀ-Ỹ]\w|\bI(?:'m| am)\s+[A-Z]\w"
)
_EMAIL_LIKE_RE = re.compile(
    r"[\w.+-]+\s*(?:@|\[\s*at\s*\]|\(\s*at\s*\)|\s+at\s+)\s*[\w-]+"
    r"\s*(?:\.|\s+dot\s+|\[\s*dot\s*\])\s*[a-z]{2,}",
    re.IGNORECASE,
)
_LINK_RE = re.compile(r"(?:https?://|www\.|\b[\w-]+\.(?:com|vn|net|org|me|ly|io)\b)", re.IGNORECASE)


def personal(text: str) -> bool:
    """Whether a question holds a marker of personal data, so that nothing of it is kept."""
    if _NAME_MARKER_RE.search(text) or _INTRODUCTION_RE.search(text):
        return True
    if _EMAIL_LIKE_RE.search(text) or _LINK_RE.search(text):
        return True
    protected, _ = _protect_codes(text)
    return sum(ch.isdigit() for ch in protected) >= 8


def miss_text(text: str) -> str:
    """What is stored of a citizen's question: "" when it holds personal data or nothing is
    left; otherwise normalised first, then redacted, then normalised again."""
    flat = normalise_miss(unicodedata.normalize("NFKC", text[:4000]))
    if not flat or personal(flat):
        return ""
    cleaned = normalise_miss(redact_query(flat))
    return "" if not any(ch.isalnum() for ch in cleaned) else cleaned


def miss_key(text: str) -> str:
    """The key identical texts are counted under: SHA-256 of the case-folded stored text."""
    return hashlib.sha256(text.casefold().encode("utf-8")).hexdigest()


def miss_kind_of(top_score: float | None, *, listed: bool) -> MissKind | None:
    """The miss a search's answer is by itself: nothing listed, or a weak best result."""
    if not listed:
        return MissKind.NOTHING
    if top_score is not None and top_score < LOW_CONFIDENCE_SCORE:
        return MissKind.LOW_CONFIDENCE
    return None
