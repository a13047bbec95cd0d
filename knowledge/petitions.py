"""Pure domain rules for petitions (phản ánh, kiến nghị) about administrative regulations.

Decree 20/2008/NĐ-CP as amended by Decree 92/2017/NĐ-CP (see docs/DOMAIN.md, "Petitions"). This
module has no I/O: it classifies a request, validates a petition, computes its deadlines, formats
and parses tracking codes and removes personal data before an answer is published. Everything that
a user reads is produced elsewhere from the stable codes returned here.

Classification rules (:func:`classify_request`), on tokens compared "loosely" (a token typed
without diacritics stands for any accented token with the same folded form, one typed with
diacritics only for itself, so "tô cao" is not "tố cáo" but "to cao" is):

- COMPLAINT: the words "khiếu nại"; DENUNCIATION: "tố cáo", or a report of bribery / corruption
  ("hối lộ", "tham nhũng", "vòi tiền", "vòi vĩnh", "tiền bôi trơn").
  An occurrence does not count when negated just before ("không", "chẳng", "ko", "không phải") or
  when it names a body of rules rather than the sender's own case: one of "thủ tục", "quy định",
  "luật", "nghị định", "thông tư", "thời hạn", "quy trình", "lĩnh vực", "mẫu", "cơ chế",
  "phòng chống", "chống", "phòng ngừa" among the four tokens before it ("kiến nghị sửa Luật Khiếu
  nại", "phòng chống tham nhũng"). That exception is lifted when the sender speaks in the first
  person just before ("tôi", "tui", "em", "mình" among those four tokens: "tôi muốn khiếu nại").
  "thủ tục tố tụng" never matches: "tố tụng" is another word.
- LEGAL_ADVICE: "tư vấn" followed within three tokens by "luật" / "pháp luật" / "pháp lý" /
  "luật sư"; "luật sư" next to a request word ("tư vấn", "giúp", "ơi", "hỏi", "nhờ", "cần",
  "tìm"); "hỏi" followed within four tokens by "luật" / "pháp luật" ("cho hỏi theo luật thì");
  "theo luật thì" / "theo pháp luật thì" in a text that asks a question ("?", or ending with
  "không", "chưa", "sao", "nào", "gì", "ko"); a statement such as "theo luật thì thời hạn là 5
  ngày nhưng ..." is a petition.
- Complaints and denunciations win over legal advice; among them the earliest match wins.
  A text with no word at all is UNCLEAR; anything else is a PETITION.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum, StrEnum

from knowledge.dossier import digits_of, national_phone
from knowledge.normalize import clean_text, fold_token, loose_equal, strip_diacritics
from knowledge.workdays import (
    add_working_days,
    is_working_day,
    local_date,
    next_working_day,
    to_local,
    working_days_between,
)

# --- Classification --------------------------------------------------------------------------


class RequestKind(Enum):
    PETITION = "petition"  # phản ánh, kiến nghị: in scope
    COMPLAINT = "complaint"  # khiếu nại: redirect
    DENUNCIATION = "denunciation"  # tố cáo: redirect
    LEGAL_ADVICE = "legal_advice"  # tư vấn pháp luật: redirect
    UNCLEAR = "unclear"  # no words at all


@dataclass(frozen=True)
class Classification:
    kind: RequestKind
    matched: str | None = None
    """The words of the text that decided the kind, as the sender typed them (None if none)."""
    rule: str | None = None
    """A stable id of the rule that matched ("keyword", "first_person", "wrongdoing", ...)."""

    @property
    def out_of_scope(self) -> bool:
        return self.kind in (
            RequestKind.COMPLAINT,
            RequestKind.DENUNCIATION,
            RequestKind.LEGAL_ADVICE,
        )


_WORD_RE = re.compile(r"[^\W\d_]+|\d+")


@dataclass(frozen=True)
class _Token:
    text: str  # accented, lower case
    folded: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    return [
        _Token(m.group().lower(), fold_token(m.group().lower()), m.start(), m.end())
        for m in _WORD_RE.finditer(text)
    ]


def _phrase(words: str) -> tuple[str, ...]:
    return tuple(words.split())


_COMPLAINT = _phrase("khiếu nại")
_DENUNCIATION = _phrase("tố cáo")
_WRONGDOING = tuple(
    _phrase(p) for p in ("hối lộ", "tham nhũng", "vòi tiền", "vòi vĩnh", "tiền bôi trơn")
)
_NEGATIONS = frozenset({"khong", "chang", "ko", "k", "kg", "khg", "hong"})
_FIRST_PERSON = frozenset({"toi", "tui", "em", "minh"})
_RULE_CONTEXT = tuple(
    tuple(fold_token(w) for w in p.split())
    for p in (
        "thủ tục", "quy định", "luật", "nghị định", "thông tư", "thời hạn", "quy trình",
        "lĩnh vực", "mẫu", "cơ chế", "phòng chống", "chống", "phòng ngừa",
    )
)  # fmt: skip
_LAW_WORDS = (_phrase("pháp luật"), _phrase("pháp lý"), _phrase("luật"))
_LAWYER = _phrase("luật sư")
_LAWYER_REQUEST = frozenset({"tu van", "giup", "oi", "hoi", "nho", "can", "tim"})
_QUESTION_ENDINGS = frozenset({"khong", "chua", "sao", "nao", "gi", "ko", "k"})


def _match_at(tokens: Sequence[_Token], i: int, phrase: Sequence[str]) -> bool:
    if i + len(phrase) > len(tokens):
        return False
    return all(loose_equal(tokens[i + k].text, w) for k, w in enumerate(phrase))


def _find(tokens: Sequence[_Token], phrase: Sequence[str]) -> list[int]:
    return [i for i in range(len(tokens)) if _match_at(tokens, i, phrase)]


def _contains_seq(words: Sequence[str], seq: Sequence[str]) -> bool:
    n = len(seq)
    return any(tuple(words[i : i + n]) == tuple(seq) for i in range(len(words) - n + 1))


def _counts(tokens: Sequence[_Token], i: int) -> str | None:
    """Does the keyword at ``i`` count? The rule id when it does, None when it does not."""
    before = [t.folded for t in tokens[max(0, i - 4) : i]]
    if any(w in _NEGATIONS for w in before[-2:]):
        return None
    if any(w in _FIRST_PERSON for w in before):
        return "first_person"
    if any(_contains_seq(before, ctx) for ctx in _RULE_CONTEXT):
        return None
    return "keyword"


def _span(text: str, tokens: Sequence[_Token], i: int, n: int) -> str:
    return text[tokens[i].start : tokens[i + n - 1].end]


def _asks_question(text: str, tokens: Sequence[_Token]) -> bool:
    return "?" in text or (bool(tokens) and tokens[-1].folded in _QUESTION_ENDINGS)


def classify_request(text: str | None) -> Classification:
    """Is the text a petition, or a complaint / denunciation / legal-advice request to redirect?

    See the module docstring for the rules. ``matched`` quotes the deciding words as typed.
    """
    cleaned = clean_text(text or "")
    tokens = _tokens(cleaned)
    if not any(t.text.isalpha() for t in tokens):
        return Classification(RequestKind.UNCLEAR)

    hits: list[tuple[int, RequestKind, str, str]] = []  # (position, kind, rule, matched)
    for kind, phrases in (
        (RequestKind.COMPLAINT, (_COMPLAINT,)),
        (RequestKind.DENUNCIATION, (_DENUNCIATION,)),
        (RequestKind.DENUNCIATION, _WRONGDOING),
    ):
        for phrase in phrases:
            for i in _find(tokens, phrase):
                rule = _counts(tokens, i)
                if rule is None:
                    continue
                if phrase in _WRONGDOING:
                    rule = "wrongdoing"
                hits.append((i, kind, rule, _span(cleaned, tokens, i, len(phrase))))
    if hits:
        _, kind, rule, matched = min(hits, key=lambda h: h[0])
        return Classification(kind, matched, rule)

    advice = _legal_advice(cleaned, tokens)
    if advice is not None:
        rule, matched = advice
        return Classification(RequestKind.LEGAL_ADVICE, matched, rule)
    return Classification(RequestKind.PETITION)


def _law_word_within(tokens: Sequence[_Token], start: int, window: int) -> int | None:
    """The end index (exclusive) of the first law word starting in ``[start, start+window)``."""
    for j in range(start, min(len(tokens), start + window)):
        if _match_at(tokens, j, _LAWYER):
            return j + 2
        for law in _LAW_WORDS:
            if _match_at(tokens, j, law):
                return j + len(law)
    return None


def _legal_advice(text: str, tokens: Sequence[_Token]) -> tuple[str, str] | None:
    folded = [t.folded for t in tokens]
    for i in _find(tokens, _phrase("tư vấn")):
        end = _law_word_within(tokens, i + 2, 3)
        if end is not None:
            return "advice_on_law", _span(text, tokens, i, end - i)
    for i in _find(tokens, _LAWYER):
        near = folded[max(0, i - 2) : i] + folded[i + 2 : i + 5]
        pairs = {" ".join(near[k : k + 2]) for k in range(len(near) - 1)}
        if any(w in _LAWYER_REQUEST for w in near) or pairs & _LAWYER_REQUEST:
            return "lawyer", _span(text, tokens, i, 2)
    for i in _find(tokens, _phrase("hỏi")):
        end = _law_word_within(tokens, i + 1, 4)
        if end is not None:
            start = i - 1 if i > 0 and folded[i - 1] in {"cho", "xin"} else i
            return "question_on_law", _span(text, tokens, start, end - start)
    if _asks_question(text, tokens):
        for i in _find(tokens, _phrase("theo")):
            end = _law_word_within(tokens, i + 1, 1)
            if end is not None and end < len(tokens) and folded[end] == "thi":
                return "question_by_law", _span(text, tokens, i, end - i)
    return None


# --- Validation ------------------------------------------------------------------------------

CONTENT_MIN_CHARS = 20
CONTENT_MIN_WORDS = 4
CONTENT_MAX_CHARS = 5000
NAME_MIN_CHARS = 2
NAME_MAX_CHARS = 100
ADDRESS_MIN_CHARS = 10
ADDRESS_MAX_CHARS = 300
EMAIL_MAX_CHARS = 254


@dataclass(frozen=True)
class Problem:
    field: str  # "content", "name", "phone", "email", "contact", "address"
    code: str  # stable: "content_empty", "content_too_short", ... (see validate_petition)


# Folded Vietnamese syllable: optional initial consonant(s), one to three vowels, optional final.
_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|gh|gi|ch|kh|nh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)
# Letters that only Vietnamese (among Latin-script languages a petition may be written in) uses.
_VI_LETTERS = frozenset("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")
_LETTER_WORD_RE = re.compile(r"[^\W\d_]+")
_EMAIL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
_PHONE_CHARS_RE = re.compile(r"[0-9\s+().\-]+")
_NAME_RE = re.compile(r"[^\W\d_]+(?:['’.\-][^\W\d_]+)*\.?")


def is_vietnamese_syllable(word: str) -> bool:
    """Could the (lower-case) word be a Vietnamese syllable, typed with or without diacritics?"""
    return _SYLLABLE_RE.fullmatch(strip_diacritics(word.lower()).replace("đ", "d")) is not None


def looks_vietnamese(text: str) -> bool:
    """Heuristic: is the text written in Vietnamese (accented, or typed without diacritics)?

    Acronyms (all capitals, or words without a vowel: "UBND", "CCCD") are ignored. Vietnamese when
    at least 60% of the remaining words are Vietnamese syllables and at least one in five carries
    a Vietnamese letter (ă â đ ê ô ơ ư or a tone mark), or, without diacritics, when at least 85%
    of them are syllables (English prose scores about 30-50%).
    """
    words = []
    for w in _LETTER_WORD_RE.findall(clean_text(text)):
        if len(w) >= 2 and w.isupper():
            continue
        if not re.search(r"[aeiouy]", strip_diacritics(w.lower())):
            continue
        words.append(w.lower())
    if not words:
        return False
    syllables = sum(is_vietnamese_syllable(w) for w in words) / len(words)
    marked = sum(any(c in _VI_LETTERS for c in w) for w in words) / len(words)
    if marked >= 0.2:
        return syllables >= 0.6
    return syllables >= 0.85


def is_valid_phone(phone: str | None) -> bool:
    """A Vietnamese phone number with its trunk or country prefix.

    Mobile: 9 digits after "0" / "+84" starting with 3, 5, 7, 8 or 9 ("0912 345 678").
    Landline: 10 digits after the prefix starting with 2 (area code 2xx: "024 3825 1234").
    Only digits, spaces, "+", ".", "-" and parentheses may appear.
    """
    phone = unicodedata.normalize("NFKC", phone or "").strip()
    if not phone or not _PHONE_CHARS_RE.fullmatch(phone):
        return False
    digits = digits_of(phone)
    if not (digits.startswith("0") or (digits.startswith("84") and len(digits) >= 11)):
        return False
    national = national_phone(phone)
    if len(national) == 9:
        return national[0] in "35789"
    return len(national) == 10 and national[0] == "2"


def is_valid_email(email: str | None) -> bool:
    if not email:
        return False
    email = clean_text(email)
    return len(email) <= EMAIL_MAX_CHARS and _EMAIL_RE.fullmatch(email) is not None


def _content_unclear(text: str) -> bool:
    """Only symbols / emoji / digits, a single repeated character, or a repeated word."""
    letters = [c for c in text.lower() if c.isalpha()]
    if not letters or len(set(letters)) <= 2:
        return True
    words = [w.lower() for w in _LETTER_WORD_RE.findall(text)]
    if len(words) >= CONTENT_MIN_WORDS:
        most = Counter(words).most_common(1)[0][1]
        if len(set(words)) < 3 or most / len(words) > 0.5:
            return True
    # a word of one letter repeated many times: "aaaaaaaaaa", "hayyyyyyyyyyyyyy"
    return any(re.search(r"([^\W\d_])\1{5,}", w) for w in words) and len(words) < 6


def validate_content(content: str | None) -> list[Problem]:
    text = clean_text(content or "")
    if not text:
        return [Problem("content", "content_empty")]
    if len(text) > CONTENT_MAX_CHARS:
        return [Problem("content", "content_too_long")]
    if _content_unclear(text):
        return [Problem("content", "content_unclear")]
    if len(text) < CONTENT_MIN_CHARS or len(_LETTER_WORD_RE.findall(text)) < CONTENT_MIN_WORDS:
        return [Problem("content", "content_too_short")]
    if not looks_vietnamese(text):
        return [Problem("content", "content_not_vietnamese")]
    return []


def validate_name(name: str | None) -> list[Problem]:
    text = clean_text(name or "")
    if not text:
        return [Problem("name", "name_missing")]
    words = text.split()
    if (
        not NAME_MIN_CHARS <= len(text) <= NAME_MAX_CHARS
        or len(words) < 2
        or not all(_NAME_RE.fullmatch(w) for w in words)
    ):
        return [Problem("name", "name_invalid")]
    return []


def validate_address(address: str | None) -> list[Problem]:
    text = clean_text(address or "")
    if not text:
        return [Problem("address", "address_missing")]
    if len(text) < ADDRESS_MIN_CHARS:
        return [Problem("address", "address_too_short")]
    if len(text) > ADDRESS_MAX_CHARS:
        return [Problem("address", "address_too_long")]
    if not any(c.isalpha() for c in text):
        return [Problem("address", "address_invalid")]
    return []


def validate_petition(
    content: str | None,
    name: str | None,
    phone: str | None,
    address: str | None,
    email: str | None = None,
) -> list[Problem]:
    """All problems of a petition, in field order; [] when it may be submitted.

    Codes: content_empty, content_too_long, content_unclear (symbols, emoji or one repeated
    character / word), content_too_short (< 20 characters or < 4 words), content_not_vietnamese;
    name_missing, name_invalid (2-100 characters, at least two words of letters); phone_invalid,
    email_invalid (given but malformed), contact_missing (neither a phone nor an e-mail);
    address_missing, address_too_short (< 10 characters), address_too_long, address_invalid.
    A phone or an e-mail is enough; a malformed one is reported even when the other is valid.
    """
    problems = validate_content(content) + validate_name(name)
    phone_given = bool(clean_text(phone or ""))
    email_given = bool(clean_text(email or ""))
    if phone_given and not is_valid_phone(phone):
        problems.append(Problem("phone", "phone_invalid"))
    if email_given and not is_valid_email(email):
        problems.append(Problem("email", "email_invalid"))
    if not phone_given and not email_given:
        problems.append(Problem("contact", "contact_missing"))
    return problems + validate_address(address)


# --- Deadlines -------------------------------------------------------------------------------

OFFICE_CLOSE = time(17, 0)
"""A petition received at or after 17:00 local time counts from the next working day.

Unlike dossiers (12:00 cut-off in ``knowledge.workdays``), a petition needs no appointment; the
office day ends at 17:00.
"""
REFUSE_DAYS = 2
FIRST_INFO_REQUEST_DAYS = 5
ANSWER_DAYS = 15
PUBLISH_DAYS = 2
FORWARD_DAYS = 5


def petition_received_day(received_at: datetime) -> date:
    """The working day counting starts from: the local date when it is a working day and the time
    is before 17:00, otherwise the next working day. Naive datetimes are local time."""
    local = to_local(received_at)
    if is_working_day(local.date()) and local.time() < OFFICE_CLOSE:
        return local.date()
    return next_working_day(local.date())


def publish_by(answered_at: datetime) -> date:
    """The last day to publish an answer: 2 working days after it (same 17:00 rule)."""
    return add_working_days(petition_received_day(answered_at), PUBLISH_DAYS)


@dataclass(frozen=True)
class Deadlines:
    """Last days (inclusive, local dates: due by the end of that day) for a petition."""

    received_on: date
    refuse_by: date
    first_info_request_by: date
    answer_by: date
    forward_by: date

    def publish_by_after_answer(self, answered_at: datetime) -> date:
        return publish_by(answered_at)


def petition_deadlines(received_at: datetime) -> Deadlines:
    """Deadlines counted in working days from :func:`petition_received_day` (that day is day 0:
    received on Monday morning, refused by Wednesday)."""
    day = petition_received_day(received_at)
    return Deadlines(
        received_on=day,
        refuse_by=add_working_days(day, REFUSE_DAYS),
        first_info_request_by=add_working_days(day, FIRST_INFO_REQUEST_DAYS),
        answer_by=add_working_days(day, ANSWER_DAYS),
        forward_by=add_working_days(day, FORWARD_DAYS),
    )


class DeadlineStatus(StrEnum):
    OK = "ok"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"


def deadline_status(deadline: date, now: datetime, warn_days: int = 1) -> DeadlineStatus:
    """OVERDUE after the deadline's day; DUE_SOON when at most ``warn_days`` working days remain
    (the deadline's day itself included); OK otherwise. Compares local dates."""
    today = local_date(now)
    if today > deadline:
        return DeadlineStatus.OVERDUE
    if working_days_between(today, deadline) <= warn_days:
        return DeadlineStatus.DUE_SOON
    return DeadlineStatus.OK


def due_soon_until(today: date, warn_days: int = 1) -> date:
    """The last date a deadline can fall on and still be "due soon" on ``today``: at most
    ``warn_days`` working days left (:func:`deadline_status`)."""
    day = today
    for _ in range(warn_days + 1):
        day = next_working_day(day)
    return day - timedelta(days=1)


# --- Tracking codes --------------------------------------------------------------------------

TRACKING_PREFIX = "PAKN"
TRACKING_MAX_NUMBER = 999_999
_TRACKING_RE = re.compile(
    r"(?<![a-z0-9])pakn[\s\-_./:#]*(20\d\d)[\s\-_./:#]*(\d{1,6})(?!\d)", re.IGNORECASE
)


def format_tracking_code(year: int, number: int) -> str:
    """``format_tracking_code(2026, 123) == "PAKN-2026-000123"``."""
    if not 2000 <= year <= 2099:
        raise ValueError(f"year out of range: {year}")
    if not 1 <= number <= TRACKING_MAX_NUMBER:
        raise ValueError(f"number out of range: {number}")
    return f"{TRACKING_PREFIX}-{year:04d}-{number:06d}"


def parse_tracking_code(text: str | None) -> tuple[int, int] | None:
    """(year, number) of the first tracking code in ``text``, as citizens type it.

    Case, spaces, dashes, dots, slashes and full-width characters do not matter, nor leading zeros
    or surrounding words: "PAKN-2026-000123", "pakn 2026 123", "mã pakn2026000123 ạ". None when
    there is no code or the number is 0.
    """
    if not text:
        return None
    normalized = unicodedata.normalize("NFKC", text)
    for match in _TRACKING_RE.finditer(normalized):
        number = int(match.group(2))
        if number >= 1:
            return int(match.group(1)), number
    return None


# --- Redaction -------------------------------------------------------------------------------

REDACTED = "***"

_INVISIBLE_RE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")
# Between digits: nothing, one or two spaces, or a dot / dash / underscore with a space around
# it ("0912 345 678", "0912  345  678", "+84-912-345-678", "0912 - 345 - 678").
_SEP = r"(?:[^\S\n]{1,2}|[^\S\n]?[.\-_][^\S\n]?)?"
_MOBILE_RE = re.compile(rf"(?<![\d+])(?:\+84|84|0){_SEP}[35789](?:{_SEP}\d){{8}}(?!\d)")
_LANDLINE_RE = re.compile(r"(?<![\d+])\(?(?:\+84|84|0)\s?2(?:[\s.\-)]{0,2}\d){9}(?!\d)")
_EMAIL_IN_TEXT_RE = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
_ID_RE = re.compile(r"(?<![\d.,/])(?:\d{12}|\d{9})(?![\d]|[.,/]\d)")
# An ID number after its label, however grouped ("CCCD 001 099 012 345", "CMND số: 123.456.789");
# on the folded text, only the number (group "num") is masked.
_LABELLED_ID_RE = re.compile(
    r"(?<!\w)(?:cccd|cmnd|can cuoc(?: cong dan)?|chung minh nhan dan|(?:ma )?dinh danh"
    r"(?: ca nhan)?|ho chieu)\s*(?:so\s*)?:?\s*(?P<num>\d(?:[\s.\-]?\d){8,11})(?!\d)"
)
# Addresses, on the folded lower-case text. A house number needs a marker ("số nhà", "nhà số",
# "SN", or "số"/"nhà" followed by an alley or street word) so that "Nghị định số 20/2008" stays;
# a slashed number ("123/45") needs a following alley / street word or "địa chỉ" / "ở" / "tại"
# before it (then only the number is masked: group "num").
_NUM = r"\d+[a-z]?(?:/\d+[a-z]?)*"
_ALLEY_ITEM = rf"\s*,?\s*(?:ngo|ngach|hem|kiet)\s+(?:so\s+)?{_NUM}"
_ALLEY = rf"(?:{_ALLEY_ITEM})*"
_STREET = r"(?=\s*,?\s*(?:ngo|ngach|hem|kiet|duong|pho|to|thon|xom|ap)\b)"
_HOUSE_RE = re.compile(
    rf"(?<!\w)(?:(?:so nha|nha so|sn)\s*:?\s*{_NUM}{_ALLEY}"
    rf"|(?:so|nha)\s+{_NUM}(?:(?:{_ALLEY_ITEM})+|{_STREET})"
    rf"|(?:dia chi|o|tai)\s*:?\s*(?P<num>\d+[a-z]?/\d+[a-z]?(?:/\d+[a-z]?)*{_ALLEY}))"
    rf"|(?P<slash>(?<![\w/])\d+[a-z]?/\d+[a-z]?(?:/\d+[a-z]?)*(?:(?:{_ALLEY_ITEM})+|{_STREET}))"
)


def _fold_chars(text: str) -> str:
    """A lower-case, diacritic-free copy of ``text`` of exactly the same length."""
    out = []
    for ch in text:
        f = strip_diacritics(ch).lower()
        if len(f) != 1:
            f = ch.lower() if len(ch.lower()) == 1 else ch
        out.append(f)
    return "".join(out)


_PHONE_LIKE_RE = re.compile(r"\+?[\d\s().\-]+")
_PHONE_GAP = r"[^\w\n]{0,3}"  # whatever a person puts between digits: " ", "-", ") ", " . "


def _phone_pattern(phone: str) -> re.Pattern[str] | None:
    """The sender's own phone as written in any form: its national digits with any few
    separators between them, after "0", "84", "+84", "(+84)" or no prefix at all."""
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("84") and len(digits) >= 11:
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        national = digits
    if len(national) < 8:
        return None
    body = _PHONE_GAP.join(national)
    prefix = rf"(?:\(?(?:\+|00)?84\)?{_PHONE_GAP}|0)"  # "(0912345678)": the brackets stay
    return re.compile(rf"(?<![\d+])(?:{prefix})?{body}(?!\d)")


_ADMIN_UNIT_RE = re.compile(
    r"^(?:phuong|xa|quan|huyen|tinh|thanh pho|tp|thi xa|thi tran|p|q)\b\.?", re.IGNORECASE
)


def sender_strings(
    name: str | None, address: str | None, phone: str | None, email: str | None
) -> list[str]:
    """What to pass as ``names`` to :func:`redact_personal_data` for one sender: the name, the
    whole address, its first part when that holds a house number ("12 Lê Lợi" of "12 Lê Lợi,
    phường Bến Thành, ...": people repeat it in the text without the rest), the phone (found
    however it is written) and the e-mail."""
    strings = [s for s in (name, address) if s and s.strip()]
    if address:
        head = address.split(",")[0].strip()
        folded_head = _fold_chars(head)
        if (
            head != address.strip()
            and any(ch.isdigit() for ch in head)
            and any(ch.isalpha() for ch in head)
            and not _ADMIN_UNIT_RE.match(folded_head)
        ):
            strings.append(head)
    strings += [s for s in (phone, email) if s and s.strip()]
    return strings


_IY_END_RE = re.compile(r"^(b|c|d|h|k|l|m|n|p|qu|s|t|v|x|ch|kh|nh|ph|th|tr)[iy]$")


def _name_pattern(name: str) -> re.Pattern[str] | None:
    words = _fold_chars(clean_text(name)).split()
    if not words or sum(len(w) for w in words) < 2:
        return None
    parts = []
    for w in words:
        m = _IY_END_RE.match(w)
        parts.append(re.escape(m.group(1)) + "[iy]" if m else re.escape(w))
    return re.compile(r"(?<!\w)" + r"\s+".join(parts) + r"(?!\w)")


def _house_spans(folded: str) -> Iterable[tuple[int, int]]:
    # the "địa chỉ: 12/3" branch masks only the number, not the label
    for m in _HOUSE_RE.finditer(folded):
        start = m.start("num") if m.group("num") is not None else m.start()
        yield start, m.end()


def redact_personal_data(text: str | None, *, names: Iterable[str] = ()) -> str:
    """The text with personal data replaced by ``***`` for publication.

    Masked: Vietnamese mobile and landline numbers (with "+84"/"84"/"0", spaces, dots, dashes),
    e-mail addresses, 9- and 12-digit ID numbers (CMND / CCCD, written without separators), every
    string in ``names`` (case-, diacritic- and i/y-insensitive, whole words: pass the sender's
    name, and the address or other strings to hide), and house numbers with their alleys ("số 12
    ngõ 34", "số nhà 5", "SN 7", "123/45 đường ...", "địa chỉ: 12/3"); the street, ward and
    province stay. A phone among ``names`` is found by its digits however it is written
    ("+84-912-345-678", "(091) 234 5678"); :func:`sender_strings` gives all of a sender's.

    Limits: a name is found only as given (pass "An" separately to hide a lone first name),
    numbers split by unusual separators, IDs written in groups without their label
    ("CCCD", "CMND", "căn cước", "định danh", "hộ chiếu"), and addresses without a marker
    ("12 Lê Lợi") are not recognised. Line breaks are kept; the text is NFC-normalised.
    """
    if not text:
        return ""
    text = _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", text))
    folded = _fold_chars(text)
    spans: list[tuple[int, int]] = []
    for regex in (_EMAIL_IN_TEXT_RE, _LANDLINE_RE, _MOBILE_RE):
        spans += [m.span() for m in regex.finditer(text)]
    for m in _ID_RE.finditer(text):
        if not any(s <= m.start() < e for s, e in spans):
            spans.append(m.span())
    for name in names:
        if name and _PHONE_LIKE_RE.fullmatch(name.strip()):
            phone = _phone_pattern(name)
            if phone is not None:
                spans += [m.span() for m in phone.finditer(text)]
                continue
        pattern = _name_pattern(name or "")
        if pattern is not None:
            spans += [m.span() for m in pattern.finditer(folded)]
    spans += [m.span("num") for m in _LABELLED_ID_RE.finditer(folded)]
    spans += list(_house_spans(folded))
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(text[last:start])
        out.append(REDACTED)
        last = end
    out.append(text[last:])
    return "".join(out)
