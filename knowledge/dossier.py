"""Dossier vocabulary shared by the importers, the API and the chat: statuses, channels, codes.

Pure functions, no I/O. Status numbers are the national portal's (DOMAIN.md):
1 Mới đăng ký, 2 Được tiếp nhận, 3 Không được tiếp nhận, 4 Đang xử lý, 5 Yêu cầu bổ sung giấy tờ,
6 Yêu cầu thực hiện nghĩa vụ tài chính, 7 Công dân yêu cầu rút hồ sơ, 8 Dừng xử lý,
9 Đã xử lý xong, 10 Đã trả kết quả.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import IntEnum

from knowledge.normalize import fold_token


class Status(IntEnum):
    REGISTERED = 1  # Mới đăng ký
    ACCEPTED = 2  # Được tiếp nhận
    NOT_ACCEPTED = 3  # Không được tiếp nhận
    PROCESSING = 4  # Đang xử lý
    SUPPLEMENT_REQUESTED = 5  # Yêu cầu bổ sung giấy tờ
    PAYMENT_REQUESTED = 6  # Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWN = 7  # Công dân yêu cầu rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    PROCESSED = 9  # Đã xử lý xong
    RETURNED = 10  # Đã trả kết quả


STATUS_NAMES_VI: dict[Status, str] = {
    Status.REGISTERED: "Mới đăng ký",
    Status.ACCEPTED: "Được tiếp nhận",
    Status.NOT_ACCEPTED: "Không được tiếp nhận",
    Status.PROCESSING: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung giấy tờ",
    Status.PAYMENT_REQUESTED: "Yêu cầu thực hiện nghĩa vụ tài chính",
    Status.WITHDRAWN: "Công dân yêu cầu rút hồ sơ",
    Status.STOPPED: "Dừng xử lý",
    Status.PROCESSED: "Đã xử lý xong",
    Status.RETURNED: "Đã trả kết quả",
}

# Statuses after which nothing more happens to the dossier.
FINAL_STATUSES = frozenset({Status.NOT_ACCEPTED, Status.WITHDRAWN, Status.STOPPED, Status.RETURNED})
# The same as plain numbers, for the import's hot loop (rows carry ints, not members).
_FINAL_NUMBERS: frozenset[int] = frozenset(int(status) for status in FINAL_STATUSES)


def final_status_stays(current: int, status: int) -> bool:
    """Whether a new ``status`` of the same time as the ``current`` one only adds history: a
    final status (3, 7, 8, 10) is never replaced by a non-final one (so 9 never replaces 10)."""
    return current in _FINAL_NUMBERS and status not in _FINAL_NUMBERS


# Names local one-door systems export (iGate and others), beside the national ones.
_STATUS_ALIASES: dict[str, Status] = {
    "Chờ tiếp nhận": Status.REGISTERED,
    "Mới tiếp nhận": Status.ACCEPTED,
    "Đã tiếp nhận": Status.ACCEPTED,
    "Tiếp nhận": Status.ACCEPTED,
    "Từ chối": Status.NOT_ACCEPTED,
    "Từ chối tiếp nhận": Status.NOT_ACCEPTED,
    "Chờ bổ sung hồ sơ": Status.SUPPLEMENT_REQUESTED,
    "Chờ bổ sung": Status.SUPPLEMENT_REQUESTED,
    "Yêu cầu bổ sung hồ sơ": Status.SUPPLEMENT_REQUESTED,
    "Bổ sung hồ sơ": Status.SUPPLEMENT_REQUESTED,
    "Chờ thực hiện nghĩa vụ tài chính": Status.PAYMENT_REQUESTED,
    "Chờ thanh toán": Status.PAYMENT_REQUESTED,
    "Rút hồ sơ": Status.WITHDRAWN,
    "Công dân rút hồ sơ": Status.WITHDRAWN,
    "Đã hủy": Status.STOPPED,
    "Hủy": Status.STOPPED,
    "Tạm dừng": Status.STOPPED,
    "Dừng xử lý": Status.STOPPED,
    "Đã có kết quả": Status.PROCESSED,
    "Chờ trả kết quả": Status.PROCESSED,
    "Hoàn thành": Status.PROCESSED,
    "Đã hoàn thành": Status.PROCESSED,
    "Đã trả": Status.RETURNED,
    "Trả kết quả": Status.RETURNED,
}


def _fold_phrase(text: str) -> str:
    text = unicodedata.normalize("NFC", text).strip().lower()
    return " ".join(fold_token(word) for word in re.findall(r"\w+", text))


_STATUS_BY_NAME: dict[str, Status] = {
    _fold_phrase(name): status
    for name, status in [*((n, s) for s, n in STATUS_NAMES_VI.items()), *_STATUS_ALIASES.items()]
}


def parse_status(value: object) -> Status:
    """The status from the portal's number (1..10, as int or text) or a known Vietnamese name.

    Raises ``ValueError`` for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"unknown status: {value!r}")
    if isinstance(value, int):
        try:
            return Status(value)
        except ValueError:
            raise ValueError(f"unknown status number: {value}") from None
    if not isinstance(value, str) or not value.strip():
        raise ValueError("status is missing")
    text = value.strip()
    if text.isdigit():
        return parse_status(int(text))
    status = _STATUS_BY_NAME.get(_fold_phrase(text))
    if status is None:
        raise ValueError(f"unknown status: {text[:60]!r}")
    return status


class DossierChannel(IntEnum):
    DIRECT = 1  # trực tiếp
    ONLINE = 2  # trực tuyến
    POSTAL = 3  # bưu chính công ích


_CHANNEL_BY_NAME: dict[str, DossierChannel] = {
    "truc tiep": DossierChannel.DIRECT,
    "direct": DossierChannel.DIRECT,
    "truc tuyen": DossierChannel.ONLINE,
    "online": DossierChannel.ONLINE,
    "dich vu cong truc tuyen": DossierChannel.ONLINE,
    "buu chinh": DossierChannel.POSTAL,
    "buu chinh cong ich": DossierChannel.POSTAL,
    "dich vu buu chinh": DossierChannel.POSTAL,
    "postal": DossierChannel.POSTAL,
}


def parse_channel(value: object) -> DossierChannel | None:
    """The channel from 1/2/3 or its name (trực tiếp / trực tuyến / bưu chính); None if blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError(f"unknown channel: {value!r}")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            return DossierChannel(int(value))
        except ValueError:
            raise ValueError(f"unknown channel number: {value}") from None
    if not isinstance(value, str):
        raise ValueError(f"unknown channel: {value!r}")
    channel = _CHANNEL_BY_NAME.get(_fold_phrase(value))
    if channel is None:
        raise ValueError(f"unknown channel: {value.strip()[:60]!r}")
    return channel


_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")


def lookup_key(code: str) -> str:
    """The receipt code reduced to upper-case ASCII letters and digits.

    ``000.00.17.H12-220615-0001``, ``000.00.17.h12 - 220615 - 0001`` and
    ``000..00.17.H12--220615-0001`` all give ``0000017H122206150001``; that key is what the
    database indexes, so however separators are lost or doubled the same dossier is found.
    """
    text = unicodedata.normalize("NFKC", code).upper()
    return _NOT_ALNUM.sub("", text)


# --- Second factor and masking ---------------------------------------------------------------


def digits_of(text: str | None) -> str:
    """Only the ASCII digits of ``text`` (full-width and other Unicode digits folded first)."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(str(int(ch)) for ch in folded if ch.isdigit())


def national_phone(phone: str | None) -> str:
    """A Vietnamese phone number without its country or trunk prefix: "+84 912 345 678",
    "0912345678" and "84912345678" all give "912345678"; "" when there are no digits."""
    digits = digits_of(phone)
    if digits.startswith("84") and len(digits) >= 11:
        digits = digits[2:]
    return digits.lstrip("0")


def mask_phone(phone: str | None) -> str:
    """A phone number as a chat may show it back: the national form with only its first 2 and
    last 3 digits ("+84 912 345 777" -> "09•••••777"); "" when it is too short to mask."""
    national = national_phone(phone)
    if len(national) < 8:
        return ""
    national = "0" + national
    return national[:2] + "•" * (len(national) - 5) + national[-3:]


def last_digits_match(stored: str | None, given: str, count: int = 4) -> bool:
    """True when ``given`` is exactly the last ``count`` digits of ``stored`` (constant time)."""
    stored_digits = digits_of(stored)
    if len(given) != count or len(stored_digits) < count:
        return False
    return hmac.compare_digest(stored_digits[-count:].encode(), given.encode())


def phones_match(stored: str | None, shared: str | None) -> bool:
    """True when a shared contact's number is the applicant's phone, prefixes aside."""
    a, b = national_phone(stored), national_phone(shared)
    if len(a) < 8 or len(b) < 8:
        return False
    return hmac.compare_digest(a.encode(), b.encode())


def mask_name(name: str | None) -> str:
    """ "Nguyễn Văn An" -> "Nguyễn V. A.": the family name, then initials; "" when unknown."""
    if not name:
        return ""
    words = unicodedata.normalize("NFC", name).split()
    if not words:
        return ""
    if len(words) == 1:
        return words[0][0].upper() + "."
    return " ".join([words[0], *(w[0].upper() + "." for w in words[1:])])


def second_factor_matches(
    phone: str | None,
    id_number: str | None,
    *,
    digits: str | None = None,
    contact_phone: str | None = None,
    claimed_phone: str | None = None,
) -> bool:
    """Whether a lookup's second factor proves the dossier is the citizen's: ``digits`` are the
    last 4 digits of the applicant's phone or ID number, ``contact_phone`` (a contact the user
    shared of themselves, vouched by the platform) is the applicant's phone, or
    ``claimed_phone`` (a full number the user gave, vouched by nobody) is the applicant's whole
    phone. The last two compare alike (prefixes aside); the caller counts a claimed number as a
    guess, a vouched contact not."""
    if digits is not None and (
        last_digits_match(phone, digits) or last_digits_match(id_number, digits)
    ):
        return True
    if claimed_phone is not None and phones_match(phone, claimed_phone):
        return True
    return contact_phone is not None and phones_match(phone, contact_phone)


# --- Lookup limits ----------------------------------------------------------------------------

USER_MAX_FAILURES = 5  # failed lookups per chat user ...
USER_FAILURE_WINDOW = timedelta(minutes=15)
CODE_MAX_FAILURES = 10  # ... and wrong digit guesses per receipt code, whoever makes them
CODE_FAILURE_WINDOW = timedelta(hours=24)


def locked_until(failures: Sequence[datetime], limit: int, window: timedelta) -> datetime | None:
    """With ``failures`` (the times within the last ``window``, oldest first): until when further
    attempts are refused — when the ``limit``-th most recent failure ages out — or None."""
    if len(failures) < limit:
        return None
    return failures[-limit] + window
