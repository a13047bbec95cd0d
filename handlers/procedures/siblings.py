"""When the results are variants of one procedure, the words that tell them apart (pure).

The catalog often has a family of procedures whose names differ in a word or two: "Cấp thẻ
căn cước" / "Cấp đổi thẻ căn cước" / "Cấp lại thẻ căn cước"; "… cho người dưới 14 tuổi";
"Đăng ký kết hôn" / "Đăng ký kết hôn có yếu tố nước ngoài". A citizen who asked about "căn cước"
should be asked the one question a clerk would ask — first issue, change or replacement? — not
be left to compare three long names. This is derived from how the names differ, for any family:
the words every name of the family shares are the family; what each name adds is its case.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.models import Procedure
from knowledge.normalize import fold_token

# Name parts that are not what tells a case apart: the word "Thủ tục", level notes in brackets.
_PREFIX_RE = re.compile(r"^\s*thủ tục\s+", re.IGNORECASE)
_BRACKETS_RE = re.compile(r"\s*\([^)]*\)")
_WORD_RE = re.compile(r"[\w/]+", re.UNICODE)

MIN_SHARED = 2  # the family's name has at least this many words
CORE_SHARE = 0.6  # a member's name holds at least this share of the first result's words
MAX_CASE_WORDS = 8  # a case's label is at most this many words
MAX_SIBLINGS = 4


@dataclass(frozen=True, slots=True)
class Siblings:
    """A family among the first results: its shared words and, per member, its case."""

    shared: str  # the words every member's name begins or ends with ("giấy phép lái xe")
    cases: tuple[tuple[Procedure, str], ...]  # (procedure, its case; "" = the plain one)


def _words(name: str) -> list[str]:
    name = _BRACKETS_RE.sub("", _PREFIX_RE.sub("", name))
    return _WORD_RE.findall(name)


def _common_prefix(names: list[list[str]]) -> int:
    n = 0
    while all(len(w) > n for w in names) and len({fold_token(w[n]) for w in names}) == 1:
        n += 1
    return n


def _common_suffix(names: list[list[str]], prefix: int) -> int:
    n = 0
    while (
        all(len(w) > prefix + n for w in names) and len({fold_token(w[-1 - n]) for w in names}) == 1
    ):
        n += 1
    return n


def siblings(procedures: Sequence[Procedure]) -> Siblings | None:
    """The family of the first result among the results (at least two members), when the
    names differ only in a few words; None otherwise. A member's name holds most of the first
    one's words; its case is what is left once the words all members begin and end with are
    taken off. Procedures with the same name (the same procedure at several levels) are one
    member."""
    if len(procedures) < 2:
        return None
    first = _words(procedures[0].name)
    core = {fold_token(w) for w in first}
    if len(core) < MIN_SHARED:
        return None
    members: list[tuple[Procedure, list[str]]] = [(procedures[0], first)]
    seen = {" ".join(fold_token(w) for w in first)}
    for p in procedures[1:]:
        words = _words(p.name)
        key = " ".join(fold_token(w) for w in words)
        if key in seen:
            continue  # another level of a member
        if len(core & {fold_token(w) for w in words}) < CORE_SHARE * len(core):
            continue
        members.append((p, words))
        seen.add(key)
        if len(members) == MAX_SIBLINGS:
            break
    if len(members) < 2:
        return None
    while True:  # members whose case is long are dropped, and the family looked at again
        if len(members) < 2:
            return None
        names = [words for _, words in members]
        prefix = _common_prefix(names)
        suffix = _common_suffix(names, prefix)
        if prefix + suffix < MIN_SHARED:
            return None
        cases = [(p, words[prefix : len(words) - suffix]) for p, words in members]
        long = {id(p) for p, case in cases[1:] if len(case) > MAX_CASE_WORDS}
        if len(cases[0][1]) > MAX_CASE_WORDS:
            return None  # the first result itself is far from the others
        if not long:
            break
        members = [(p, words) for p, words in members if id(p) not in long]
    labelled = tuple((p, " ".join(case)) for p, case in cases)
    labels = [label.casefold() for _, label in labelled]
    if len(set(labels)) < len(labels):
        return None  # two members would look the same: the question would not separate them
    shared = " ".join(first[:prefix] + ["…"] + first[len(first) - suffix :]).strip(" …")
    return Siblings(shared=shared, cases=labelled)


__all__ = ["Siblings", "siblings"]
