"""Receipt codes (mã hồ sơ) as citizens type them: find, normalise, mask.

Circular 01/2018/TT-VPCP art. 19 gives the code ``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX``: the
receiving unit's identifier (``000.00.17.H12``), the receiving date (``220615``) and a daily
sequence (``0001``). Older local systems used shorter unit parts (``38.98.H29-210519-0013``).

What is recognised as a unit part (the rules are deliberately narrow so that procedure codes,
phone numbers, ID numbers and dates are never mistaken for a receipt code):

1. *structured* — 3, 2 and 2 digits then one letter and 2 digits (``000.00.17.H12``); the
   separators may be dots, dashes, underscores or spaces, doubled, or missing altogether
   (``0000017H12``). Displayed canonically as ``000.00.17.H12``.
2. *local* — one to four groups of 1-3 digits, each group separated by a dot/dash/underscore,
   then a letter and 2 digits (``38.98.H29``); or the letter group alone (``H29``), which is a
   best-effort reading. Displayed with dots between the groups as typed.
3. *dotted digits* — two to four dot-separated groups of 1-3 digits with explicit dashes before
   the date and the sequence (``38.98-210519-0013``).

The unit part is followed by a valid ``YYMMDD`` date and a 3-6 digit sequence (4 is the norm);
the sequence is kept as typed, never padded, because the database is keyed by
:func:`knowledge.dossier.lookup_key`, which keeps every letter and digit. A unit part directly
preceded by ``<digit>.`` is part of a procedure code (``2.002307.000.00.00.H35``) and is ignored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, unquote, urlsplit

RECEIPT_CODE_EXAMPLE = "000.00.17.H12-220615-0001"
"""A well-formed code, for messages such as "it should look like ..."."""

_MAX_TEXT = 4000  # a chat message; anything longer is cut before scanning

_DASH_LIKE = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"  # hyphens, en/em dash, minus
_DASHES = str.maketrans(dict.fromkeys(_DASH_LIKE, "-"))

_S = r"[\s._\-]*"  # any separators, possibly none or doubled
_G = r"\s*[._\-]+\s*"  # at least one explicit separator between digit groups
_NOT_AFTER_PROCEDURE = r"(?<![0-9]\.)"  # "2.002307.000.00.00.H35" is a procedure code
_TAIL = rf"{_S}(?P<date>\d{{6}}){_S}(?P<seq>\d{{3,6}})(?![0-9])"

_STRUCTURED_UNIT = (
    rf"(?<![0-9]){_NOT_AFTER_PROCEDURE}"
    rf"(?P<v>\d{{3}}){_S}(?P<z>\d{{2}}){_S}(?P<y>\d{{2}}){_S}(?P<m>[A-Z])[._\-]?(?P<x>\d{{2}})"
)
_LOCAL_UNIT = (
    rf"(?<![0-9A-Z]){_NOT_AFTER_PROCEDURE}"
    rf"(?P<pre>\d{{1,3}}(?:{_G}\d{{1,3}}){{0,3}}[\s._\-]*)?(?P<m>[A-Z])[._\-]?(?P<x>\d{{2}})"
)
_STRUCTURED_RE = re.compile(_STRUCTURED_UNIT + _TAIL)
_LOCAL_RE = re.compile(_LOCAL_UNIT + _TAIL)
_DOTTED_RE = re.compile(
    r"(?<![0-9A-Z.])(?P<pre>\d{1,3}(?:\s*\.+\s*\d{1,3}){1,3})"
    r"\s*-+\s*(?P<date>\d{6})\s*-+\s*(?P<seq>\d{3,6})(?![0-9])"
)

# Malformed attempts: a unit part with anything (or nothing) after it, or "H12-2206..." where the
# digits start like a YYMM.
_ATTEMPT_STRUCTURED_RE = re.compile(_STRUCTURED_UNIT)
_ATTEMPT_LOCAL_RE = re.compile(
    rf"(?<![0-9A-Z]){_NOT_AFTER_PROCEDURE}"
    rf"\d{{1,3}}(?:{_G}\d{{1,3}}){{1,3}}{_G}[A-Z]\d{{2}}(?![0-9])"
)
_ATTEMPT_LETTER_RE = re.compile(
    rf"(?<![0-9A-Z]){_NOT_AFTER_PROCEDURE}[A-Z][._\-]?\d{{2}}\s*[._\-]+\s*"
    r"\d{2}(?:0[1-9]|1[0-2])"  # starts like YYMM
)

_DIGITS_RE = re.compile(r"\d+")
# Query parameters of a tracking URL that hold the code (QR codes on the receipt slip).
_CODE_PARAM_RE = re.compile(r"code|ma|hoso|dossier|no$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReceiptCode:
    """One recognised receipt code."""

    unit: str  # "000.00.17.H12", "38.98.H29"
    received_on: date
    sequence: str  # as typed, "0001"
    structured: bool  # the unit part has the Circular's V.Z.Y.MXX structure

    @property
    def display(self) -> str:
        """The canonical form: ``000.00.17.H12-220615-0001``."""
        return f"{self.unit}-{self.received_on:%y%m%d}-{self.sequence}"

    @property
    def masked(self) -> str:
        """The display form with the sequence hidden: ``000.00.17.H12-220615-****``."""
        return f"{self.unit}-{self.received_on:%y%m%d}-****"


def _prepare(text: str) -> str:
    """URL-decoded, NFKC (full-width digits), no invisible characters, ASCII dashes, upper case."""
    text = text[:_MAX_TEXT]
    if "%" in text:
        text = unquote(text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        " " if unicodedata.category(ch) == "Cc" and not ch.isspace() else ch
        for ch in text
        if unicodedata.category(ch) != "Cf"
    )
    return text.translate(_DASHES).upper()


def _parse_date(yymmdd: str) -> date | None:
    try:
        return date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
    except ValueError:
        return None


def _scan(pattern: re.Pattern[str], text: str, kind: str) -> ReceiptCode | None:
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        received_on = _parse_date(match["date"])
        if received_on is not None:
            groups = match.groupdict()
            if kind == "structured":
                unit = f"{groups['v']}.{groups['z']}.{groups['y']}.{groups['m']}{groups['x']}"
            else:
                parts = _DIGITS_RE.findall(groups.get("pre") or "")
                if kind == "local":
                    parts.append(f"{groups['m']}{groups['x']}")
                unit = ".".join(parts)
            return ReceiptCode(unit, received_on, match["seq"], kind == "structured")
        pos = match.start() + 1
    return None


def _candidates(prepared: str) -> list[str]:
    """Texts to scan, most specific first: code-like URL parameters, then the whole text."""
    found: list[str] = []
    for word in prepared.split():
        if "?" not in word and "=" not in word:
            continue
        query = urlsplit(word).query if "?" in word else word
        found.extend(v for k, v in parse_qsl(query) if _CODE_PARAM_RE.search(k))
    found.append(prepared)
    return found


def parse_receipt_code(text: str) -> ReceiptCode | None:
    """The first receipt code in a message, a pasted QR text or a URL; None if there is none."""
    if not text:
        return None
    for candidate in _candidates(_prepare(text)):
        for pattern, kind in (
            (_STRUCTURED_RE, "structured"),
            (_LOCAL_RE, "local"),
            (_DOTTED_RE, "dotted"),
        ):
            code = _scan(pattern, candidate, kind)
            if code is not None:
                return code
    return None


def find_receipt_code(text: str) -> str | None:
    """The canonical display form of the receipt code found in ``text``, or None.

    ``"hồ sơ 000.00.17.h12 220615 0001 của tôi"`` gives ``000.00.17.H12-220615-0001``;
    ``lookup_key`` of the result always equals ``lookup_key`` of the code as issued.
    """
    code = parse_receipt_code(text)
    return code.display if code is not None else None


def looks_like_receipt_attempt(text: str) -> bool:
    """Did the citizen try to type a receipt code that is incomplete or malformed?

    True for ``000.00.17.H12-2206``, ``000.00.17.H12`` alone, ``H12-220615`` or a code whose date
    is impossible; False for ordinary questions, procedure codes, phone and ID numbers, dates, and
    for text holding a complete code (use :func:`find_receipt_code` first).
    """
    if not text or parse_receipt_code(text) is not None:
        return False
    prepared = _prepare(text)
    return bool(
        _ATTEMPT_STRUCTURED_RE.search(prepared)
        or _ATTEMPT_LOCAL_RE.search(prepared)
        or _ATTEMPT_LETTER_RE.search(prepared)
    )


def mask_receipt_code(code: str) -> str:
    """The code for logs, sequence hidden: ``000.00.17.H12-220615-****``.

    Anything that is not a recognisable code is masked completely (``****``).
    """
    parsed = parse_receipt_code(code)
    return parsed.masked if parsed is not None else "****"
