"""Receipt codes (mã hồ sơ) as citizens type them: find, normalise, mask.

Circular 01/2018/TT-VPCP art. 19 gives the code ``V1V2V3.Z1Z2.Y1Y2.MX1X2-YYMMDD-XXXX``: the
receiving unit's identifier (``000.00.17.H12``), the receiving date (``220615``) and a daily
sequence (``0001``). Older local systems used shorter unit parts (``38.98.H29-210519-0013``).

How a code is found: a letter group (one letter and 2 digits, ``H12``, ``h 12``, ``H.12``) followed
by a valid ``YYMMDD`` date and a 3-6 digit sequence (4 is the norm; kept as typed, never padded),
the separators between them dots, dashes, underscores or spaces, doubled, or missing. Then every
digit group typed before the letter group is read, whatever separates them; the rules are narrow
so that procedure codes, phone numbers, ID numbers and dates are never mistaken for a code, and a
digit the citizen typed is never dropped (nor one added): the database is keyed by
:func:`knowledge.dossier.lookup_key`, which keeps every letter and digit, and a wrong code locks
the citizen out.

1. *structured* — the last groups hold exactly 7 digits split compatibly with 3-2-2
   (``000.00.17``, ``000 00 17``, ``0000017``, ``000.0017``). Displayed ``000.00.17.H12``. A
   number before them separated by spaces only ("hồ sơ số 12 000.00.17.H12...") is not part of
   the code; one joined by punctuation is (``2.002307.000.00.00.H35`` is then a procedure code).
2. *local* — one to four groups of 1-3 digits (``38.98.H29``, ``38 98 H29``), or a single run of
   up to 9 digits whose split is unknown, kept whole (``3898H29`` gives ``3898.H29``: same lookup
   key); or the letter group alone (``H29``), a best-effort reading.
3. *dotted digits* — two to four dot-separated groups of 1-3 digits with explicit dashes before
   the date and the sequence (``38.98-210519-0013``).

A numbered-list prefix is not part of the code: a group of 1-2 digits followed by a dot or a
parenthesis and whitespace (``1. ``, ``2) ``) at the start of the text or of a line, or after
``:`` or a bullet (``- ``) there. ``1. 000.00.17.H12...`` is ``000.00.17.H12...`` (the 7 digits
already identify the unit) and ``1. 38.98.H29...`` is ``38.98.H29...``. Without the space it is a
digit group like any other (``1.38.98.H29``), and a local code itself typed with dots and spaces
(``38. 98. H29``) keeps its first group; when fewer than two local digit groups would remain
(``1. H29...``, ``38. 98.H29...``), it is uncertain whether the first group is a list number.

Anything else before the letter group gives no code: a group of more than 3 digits among others
(procedure codes, phone and ID numbers); and, reported as an attempt by
:func:`looks_like_receipt_attempt` rather than guessed, digit groups whose extent is uncertain —
spaces and punctuation mixed between them (``12 38.98.H29``: is ``12`` part of it?), or a first
group stuck to a word (``B2 38 98 H29``). Groups typed with spaces only are all taken, so a bare
number right before a spaced local code (``lần 2 38 98 H29...``) cannot be told apart from it.
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

_SEPARATORS = "._-"  # besides whitespace
_LETTER_GROUP_RE = re.compile(
    r"(?P<m>[A-Z])[\s._\-]{0,3}(?P<x>[0-9]{2})"
    r"[\s._\-]{0,10}(?P<date>[0-9]{6})[\s._\-]{0,10}(?P<seq>[0-9]{3,6})(?![0-9])"
)
_DOTTED_RE = re.compile(
    r"(?<![0-9A-Z.])(?P<pre>[0-9]{1,3}(?:\s*\.+\s*[0-9]{1,3}){1,3})"
    r"\s*-+\s*(?P<date>[0-9]{6})\s*-+\s*(?P<seq>[0-9]{3,6})(?![0-9])"
)
_MAX_GROUPS = 8  # digit groups looked at before a letter group; more is not a unit part
_MAX_LOCAL_GROUPS = 4
_MAX_UNSPLIT_DIGITS = 9  # "3898" in "3898H29...": kept whole, its split is unknown
_AMBIGUOUS = "ambiguous"

# Malformed attempts: a unit part with anything (or nothing) after it, or "H12-2206..." where the
# digits start like a YYMM.
_S = r"[\s._\-]*"
_G = r"\s*[._\-]+\s*"
_NOT_AFTER_PROCEDURE = r"(?<![0-9]\.)"  # "2.002307.000.00.00.H35" is a procedure code
_ATTEMPT_STRUCTURED_RE = re.compile(
    rf"(?<![0-9]){_NOT_AFTER_PROCEDURE}"
    rf"\d{{3}}{_S}\d{{2}}{_S}\d{{2}}{_S}[A-Z][\s._\-]?\d{{2}}"
)
_ATTEMPT_LOCAL_RE = re.compile(
    rf"(?<![0-9A-Z]){_NOT_AFTER_PROCEDURE}"
    rf"\d{{1,3}}(?:[\s._\-]+\d{{1,3}}){{1,3}}[\s._\-]+[A-Z]\d{{2}}(?![0-9])"
)
_ATTEMPT_LETTER_RE = re.compile(
    rf"(?<![0-9A-Z]){_NOT_AFTER_PROCEDURE}[A-Z][._\-]?\d{{2}}\s*[._\-]+\s*"
    r"\d{2}(?:0[1-9]|1[0-2])"  # starts like YYMM
)

_DIGITS_RE = re.compile(r"[0-9]+")
# A list number "1. ", "12. " before a code ("2) " needs nothing: ")" ends the digit groups).
_LIST_NUMBER_MAX_DIGITS = 2
_LIST_SEPARATOR_RE = re.compile(r"\.\s+")
_LIST_PREFIX_RE = re.compile(r"[0-9]{1,2}\.\s+")
_DOT_SPACE_RE = re.compile(r"\.\s")
_LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_BULLETS = "-*\u2022"
_MIN_LISTED_LOCAL_GROUPS = 2  # "1. 3898H29...": is "1" a list number or part of the code?
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


def _is_separator(ch: str) -> bool:
    return ch in _SEPARATORS or ch.isspace()


def _is_digit(ch: str) -> bool:
    return "0" <= ch <= "9"


def _groups_before(text: str, pos: int) -> tuple[list[str], list[str], bool] | None:
    """The digit groups typed before ``text[pos]`` (a letter group), left to right.

    Returns ``(groups, separators, glued)``: ``separators[i]`` follows ``groups[i]`` (the last one
    is the separator before the letter); ``glued`` is True when the first group sticks to a letter
    (``B2 38 98``... is read as ``2``). None when there are more than :data:`_MAX_GROUPS` groups.
    """
    groups: list[str] = []
    separators: list[str] = []
    end = pos
    while True:
        start = end
        while start > 0 and _is_separator(text[start - 1]):
            start -= 1
        if start == 0 or not _is_digit(text[start - 1]):
            glued = bool(groups) and start == end and start > 0 and text[start - 1].isalpha()
            return groups, separators, glued
        if len(groups) == _MAX_GROUPS:
            return None
        digits_start = start
        while digits_start > 0 and _is_digit(text[digits_start - 1]):
            digits_start -= 1
        groups.insert(0, text[digits_start:start])
        separators.insert(0, text[start:end])
        end = digits_start


def _has_punctuation(separator: str) -> bool:
    return any(ch in _SEPARATORS for ch in separator)


def _skip_blanks_back(text: str, pos: int) -> int:
    while pos > 0 and text[pos - 1].isspace() and text[pos - 1] not in _LINE_BREAKS:
        pos -= 1
    return pos


def _at_list_start(text: str, pos: int) -> bool:
    """Is ``text[pos]`` where a list number goes: the start of the text or of a line, or after
    ":", optionally followed by a bullet ("- 1. ...", "Mã hồ sơ: 1. ...")?"""
    pos = _skip_blanks_back(text, pos)
    if pos > 0 and text[pos - 1] in _BULLETS:
        pos = _skip_blanks_back(text, pos - 1)
    return pos == 0 or text[pos - 1] in _LINE_BREAKS or text[pos - 1] == ":"


def _list_number(text: str, pos: int, groups: list[str], separators: list[str]) -> int | None:
    """The index of the group that is a list number ("1. " at the start of a line), if any."""
    start = pos
    for index in range(len(groups) - 1, -1, -1):
        start -= len(groups[index]) + len(separators[index])
        if (
            len(groups[index]) <= _LIST_NUMBER_MAX_DIGITS
            and _LIST_SEPARATOR_RE.fullmatch(separators[index])
            and _at_list_start(text, start)
        ):
            return index
    return None


def _structured_suffix(groups: list[str], separators: list[str]) -> str | None:
    """``000.00.17`` when the last groups hold exactly 7 digits split compatibly with 3-2-2 and
    nothing joined by punctuation comes before them; a number before them, separated by spaces
    only ("hồ sơ số 12 000.00.17.H12...") is not part of the code."""
    total = 0
    first = len(groups)
    while first > 0 and total < 7:
        first -= 1
        total += len(groups[first])
    if total != 7:
        return None
    cuts, position = set(), 0
    for group in groups[first:-1]:
        position += len(group)
        cuts.add(position)
    if not cuts <= {3, 5}:
        return None
    if first > 0 and _has_punctuation(separators[first - 1]):
        return None  # "2.002307.000.00.00.H35": part of something longer
    digits = "".join(groups[first:])
    return f"{digits[:3]}.{digits[3:5]}.{digits[5:]}"


def _unit_digits(text: str, pos: int, end: int) -> tuple[str, bool] | str | None:
    """The digit part of the unit before the letter group at ``pos`` (the code ends at ``end``):
    ``("000.00.17", True)``, ``("38.98", False)``, ``("", False)`` for the letter group alone;
    :data:`_AMBIGUOUS` when the citizen's digit groups cannot be told apart from surrounding
    numbers; None when they are not a unit part (procedure codes, phone and ID numbers)."""
    found = _groups_before(text, pos)
    if found is None:
        return None
    groups, separators, glued = found
    listed = _list_number(text, pos, groups, separators)
    if listed is not None:  # "1. 000.00.17.H12...", "1. 38.98.H29..."
        rest_groups, rest_separators = groups[listed + 1 :], separators[listed + 1 :]
        structured = _structured_suffix(rest_groups, rest_separators)
        if structured is not None:
            return structured, True
        rest_start = pos - sum(map(len, rest_groups + rest_separators))
        if not _DOT_SPACE_RE.search(text, rest_start, end):  # "38. 98. H29...": all the code's
            if len(rest_groups) < _MIN_LISTED_LOCAL_GROUPS:
                return _AMBIGUOUS
            groups, separators, glued = rest_groups, rest_separators, False
    if not groups:
        return "", False
    structured = _structured_suffix(groups, separators)
    if structured is not None:
        return structured, True
    between = separators[:-1]
    if any(map(_has_punctuation, between)) and not all(map(_has_punctuation, between)):
        return _AMBIGUOUS  # "12 38.98.H29": is "12" part of the code?
    if len(groups) == 1 and len(groups[0]) <= _MAX_UNSPLIT_DIGITS:
        unit = groups[0]
    elif len(groups) <= _MAX_LOCAL_GROUPS and all(len(group) <= 3 for group in groups):
        unit = ".".join(groups)
    else:
        return None
    return _AMBIGUOUS if glued else (unit, False)


def _digit_before(text: str, pos: int) -> bool:
    while pos > 0 and _is_separator(text[pos - 1]):
        pos -= 1
    return pos > 0 and _is_digit(text[pos - 1])


def _scan(text: str) -> tuple[ReceiptCode | None, bool]:
    """The first receipt code in prepared text, and whether an ambiguous one was seen."""
    ambiguous = False
    for match in _LETTER_GROUP_RE.finditer(text):
        start = match.start()
        if start > 0 and text[start - 1].isalpha():
            continue  # "ABH12...": inside a word
        received_on = _parse_date(match["date"])
        if received_on is None:
            continue
        unit = _unit_digits(text, start, match.end())
        if isinstance(unit, str):  # _AMBIGUOUS
            ambiguous = True
            continue
        if unit is None:
            continue
        digits, structured = unit
        letters = f"{match['m']}{match['x']}"
        unit_part = f"{digits}.{letters}" if digits else letters
        return ReceiptCode(unit_part, received_on, match["seq"], structured), ambiguous
    pos = 0
    while (dotted := _DOTTED_RE.search(text, pos)) is not None:
        pos = dotted.start() + 1
        received_on = _parse_date(dotted["date"])
        if received_on is None:
            continue
        groups = _DIGITS_RE.findall(dotted["pre"])
        listed = _LIST_PREFIX_RE.match(dotted["pre"])
        if (
            listed is not None
            and _at_list_start(text, dotted.start())
            and not _DOT_SPACE_RE.search(text, dotted.start() + listed.end(), dotted.end())
        ):  # "1. 38.98-210519-0013"
            groups = groups[1:]
            if len(groups) < _MIN_LISTED_LOCAL_GROUPS:
                ambiguous = True
                continue
        elif _digit_before(text, dotted.start()):
            ambiguous = True  # "38 98.12-210519-0013"
            continue
        unit_part = ".".join(groups)
        return ReceiptCode(unit_part, received_on, dotted["seq"], False), ambiguous
    return None, ambiguous


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


def _parse(prepared: str) -> tuple[ReceiptCode | None, bool]:
    ambiguous = False
    for candidate in _candidates(prepared):
        code, seen = _scan(candidate)
        if code is not None:
            return code, False
        ambiguous = ambiguous or seen
    return None, ambiguous


def parse_receipt_code(text: str) -> ReceiptCode | None:
    """The first receipt code in a message, a pasted QR text or a URL; None if there is none."""
    if not text:
        return None
    return _parse(_prepare(text))[0]


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
    if not text:
        return False
    prepared = _prepare(text)
    code, ambiguous = _parse(prepared)
    if code is not None:
        return False
    return bool(
        ambiguous
        or _ATTEMPT_STRUCTURED_RE.search(prepared)
        or _ATTEMPT_LOCAL_RE.search(prepared)
        or _ATTEMPT_LETTER_RE.search(prepared)
    )


def mask_receipt_code(code: str) -> str:
    """The code for logs, sequence hidden: ``000.00.17.H12-220615-****``.

    Anything that is not a recognisable code is masked completely (``****``).
    """
    parsed = parse_receipt_code(code)
    return parsed.masked if parsed is not None else "****"
