"""Dossier records as the one-door system exports them: one row of a file or one API item.

Pure code, no database. ``parse_record`` turns a mapping (a CSV row, a JSON object) into a
validated ``DossierRecord``; ``read_records`` streams the rows of a CSV or JSON Lines file with
their line numbers.

Columns (any order; unknown columns are ignored): receipt_code, procedure_code, agency,
applicant_name, applicant_phone, applicant_id_number, channel, received_at, appointment_at,
status, status_at, finished_at, returned_at, new_appointment_at, delay_reason, postal_tracking,
note. iGate-style names (``dossierNo``, ``dossierStatusName``, ``acceptedDate``,
``appointmentDate``...), camelCase / snake_case variants and the usual Vietnamese headers
("Mã hồ sơ", "Trạng thái", "Ngày hẹn trả"...) are accepted too (see ``FIELD_ALIASES``).

Times are ISO 8601 or ``dd/mm/yyyy[ HH:MM[:SS]]``; without an offset they are local time in
Asia/Ho_Chi_Minh; they come out as aware UTC datetimes. A date alone means midnight local time.
When a row has no status time, it is taken from the time the status implies (received_at for
"accepted", finished_at for "processed", returned_at for "returned").

Phones are kept as digits (``+84`` written as ``0``; of several numbers in one cell, separated
by "/", ",", ";" or " - ", the first), 9 to 12 of them. ID numbers (CCCD, old CMND, passports
such as ``C1234567``) are kept as upper-case letters and digits without spaces, dots or dashes.
``chat_findable`` tells whether the chat can find a code as it is written.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from knowledge.dossier import DossierChannel, Status, lookup_key, parse_channel, parse_status
from knowledge.receipt import find_receipt_code

# Column lengths of storage.models.Dossier (the database would refuse longer values).
MAX_LENGTHS: dict[str, int] = {
    "receipt_code": 64,
    "procedure_code": 64,
    "agency": 255,
    "applicant_name": 255,
    "applicant_phone": 32,
    "applicant_id_number": 32,
    "postal_tracking": 64,
    "delay_reason": 4000,  # Text columns: a sane cap rather than the database's
    "note": 4000,
}
PHONE_MIN_DIGITS = 9  # "912345678" without its trunk 0
PHONE_MAX_DIGITS = 12
LOOKUP_KEY_MIN = 8
LOOKUP_KEY_MAX = 64
# Vietnam has kept UTC+7 without daylight saving since 1975; dossiers are far younger, so a fixed
# offset is exact and much faster than a zoneinfo lookup per value.
VN_OFFSET = timedelta(hours=7)
MIN_YEAR = 1990
MAX_YEAR = 2100

# The dossier columns an import sets (everything but ids, source and bookkeeping times), in the
# order storage writes them.
DATA_FIELDS: tuple[str, ...] = (
    "receipt_code",
    "procedure_code",
    "agency",
    "applicant_name",
    "applicant_phone",
    "applicant_id_number",
    "channel",
    "received_at",
    "appointment_at",
    "status",
    "status_at",
    "finished_at",
    "returned_at",
    "new_appointment_at",
    "delay_reason",
    "postal_tracking",
)
# What a row or API item may carry: the columns, and the note of a supplement request.
FIELDS: tuple[str, ...] = (*DATA_FIELDS, "note")
TIME_FIELDS: tuple[str, ...] = (
    "received_at",
    "appointment_at",
    "status_at",
    "finished_at",
    "returned_at",
    "new_appointment_at",
)

# Other names of each field; compared after folding (lower case, no accents, no "_", "-", " ",
# "."), so "dossierNo", "dossier_no" and "Dossier No" are one name.
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "receipt_code": (
        "receiptcode",
        "receiptno",
        "receiptnumber",
        "dossierno",
        "dossiercode",
        "dossiernumber",
        "code",
        "mahoso",
        "sohoso",
        "mabiennhan",
        "sobiennhan",
    ),
    "procedure_code": (
        "procedurecode",
        "procedureno",
        "procedureid",
        "matthc",
        "mathutuc",
        "mathutuchanhchinh",
    ),
    "agency": (
        "agency",
        "agencyname",
        "agencycode",
        "receivingagency",
        "coquan",
        "coquantiepnhan",
        "donvi",
        "donvitiepnhan",
    ),
    "applicant_name": (
        "applicantname",
        "applicant",
        "applicantfullname",
        "ownerfullname",
        "fullname",
        "tennguoinop",
        "nguoinop",
        "hoten",
        "chuhoso",
        "tencongdan",
    ),
    "applicant_phone": (
        "applicantphone",
        "applicantphonenumber",
        "phone",
        "phonenumber",
        "mobile",
        "sodienthoai",
        "dienthoai",
    ),
    "applicant_id_number": (
        "applicantidnumber",
        "idnumber",
        "identitynumber",
        "identityno",
        "citizenid",
        "cccd",
        "socccd",
        "cmnd",
        "socmnd",
        "sodinhdanh",
        "sogiayto",
    ),
    "channel": (
        "channel",
        "applymethod",
        "applymethodname",
        "kenh",
        "kenhnop",
        "hinhthucnop",
        "hinhthuctiepnhan",
    ),
    "received_at": (
        "receivedat",
        "receiveddate",
        "accepteddate",
        "acceptedat",
        "receptiondate",
        "ngaytiepnhan",
        "ngaynhan",
        "thoigiantiepnhan",
    ),
    "appointment_at": (
        "appointmentat",
        "appointmentdate",
        "duedate",
        "ngayhentra",
        "ngayhen",
        "hentra",
        "thoigianhentra",
    ),
    "status": (
        "status",
        "statuscode",
        "statusname",
        "dossierstatus",
        "dossierstatusname",
        "dossierstatuscode",
        "trangthai",
        "tinhtrang",
        "trangthaihoso",
    ),
    "status_at": (
        "statusat",
        "statusdate",
        "statustime",
        "statusupdatedat",
        "updateddate",
        "ngaycapnhat",
        "thoigiancapnhat",
        "ngaytrangthai",
    ),
    "finished_at": (
        "finishedat",
        "finisheddate",
        "completeddate",
        "completedat",
        "ngayxulyxong",
        "ngaycoketqua",
        "ngayhoanthanh",
    ),
    "returned_at": (
        "returnedat",
        "returneddate",
        "resultreturneddate",
        "ngaytraketqua",
        "ngaytra",
    ),
    "new_appointment_at": (
        "newappointmentat",
        "newappointmentdate",
        "extendedappointmentdate",
        "ngayhenlai",
        "ngayhentralai",
    ),
    "delay_reason": ("delayreason", "reasonfordelay", "lydotre", "lydotrehan", "lydo"),
    "postal_tracking": (
        "postaltracking",
        "trackingnumber",
        "trackingcode",
        "postalcode",
        "mabuugui",
        "mavandon",
        "sovandon",
    ),
    "note": ("note", "notes", "comment", "supplementnote", "ghichu", "noidungbosung"),
}

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"\s+")
_PHONE_SEPARATORS = re.compile(r"[\s.\-()]+")
_PHONE_LIST = re.compile(r"[/,;]|\s-\s")  # between several phone numbers: keep the first
_ID_SEPARATORS = re.compile(r"[\s.\-]+")


def _fold_name(name: str) -> str:
    """A column name folded for alias matching: ``"Mã hồ sơ"`` -> ``"mahoso"``."""
    text = unicodedata.normalize("NFD", name.translate(_ZERO_WIDTH)).replace("đ", "d")
    text = text.replace("Đ", "d")
    return "".join(c for c in text.lower() if c.isalnum() and not unicodedata.combining(c))


_ALIAS_TO_FIELD: dict[str, str] = {}
for _field, _aliases in FIELD_ALIASES.items():
    _ALIAS_TO_FIELD[_fold_name(_field)] = _field
    for _alias in _aliases:
        _ALIAS_TO_FIELD[_fold_name(_alias)] = _field

_column_cache: dict[str, str | None] = {}


def field_for_column(name: str) -> str | None:
    """The record field a column name stands for, or None for a column this module ignores."""
    try:
        return _column_cache[name]
    except KeyError:
        pass
    field = _ALIAS_TO_FIELD.get(_fold_name(name)) if isinstance(name, str) else None
    if len(_column_cache) < 10_000:
        _column_cache[name] = field
    return field


class RecordError(ValueError):
    """A row that cannot become a ``DossierRecord``; ``reasons`` lists every problem found."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


class RecordFileError(ValueError):
    """A file that is not a dossier export at all (binary, XLSX, HTML, not UTF-8, no code)."""


@dataclass(frozen=True, slots=True)
class DossierRecord:
    """One dossier's state as reported by the one-door system; times are aware UTC."""

    receipt_code: str  # stripped, upper-case, NFC
    lookup_key: str  # knowledge.dossier.lookup_key(receipt_code): the database key
    agency: str
    status: Status
    procedure_code: str | None = None
    applicant_name: str | None = None
    applicant_phone: str | None = None  # digits only, "+84" written as "0"
    applicant_id_number: str | None = None  # letters and digits, upper case (C1234567)
    channel: DossierChannel | None = None
    received_at: datetime | None = None
    appointment_at: datetime | None = None
    status_at: datetime | None = None
    finished_at: datetime | None = None
    returned_at: datetime | None = None
    new_appointment_at: datetime | None = None
    delay_reason: str | None = None
    postal_tracking: str | None = None
    note: str | None = None  # e.g. what a supplement request (status 5) asks for


# --- values ------------------------------------------------------------------------------------


def clean_text(value: object, *, multiline: bool = False) -> str | None:
    """NFC text without zero-width characters, stripped; whitespace runs collapsed unless
    ``multiline``; None for blank. Numbers are accepted and written as text."""
    if value.__class__ is not str:
        if value is None:
            return None
        if isinstance(value, bool):
            raise ValueError("expected text, got a boolean")
        if isinstance(value, int | float):
            value = str(value)
        elif isinstance(value, str):
            value = str(value)
        else:
            raise ValueError(f"expected text, got {type(value).__name__}")
    assert isinstance(value, str)
    if not value.isascii():
        value = value.translate(_ZERO_WIDTH)
        if not unicodedata.is_normalized("NFC", value):
            value = unicodedata.normalize("NFC", value)
    value = value.strip()
    if not multiline and ("  " in value or "\t" in value or "\n" in value or "\r" in value):
        value = _SPACES.sub(" ", value)
    elif not multiline and not value.isascii() and not value.isprintable():
        value = _SPACES.sub(" ", value)  # other Unicode spaces (no-break space...)
    return value or None


def agency_key(agency: str) -> str:
    """How two agency names are compared (an API key's agency against an item's)."""
    text = unicodedata.normalize("NFC", agency.translate(_ZERO_WIDTH))
    return _SPACES.sub(" ", text).strip().casefold()


def parse_time(value: object) -> datetime | None:
    """An aware UTC datetime from ISO 8601 or ``dd/mm/yyyy[ HH:MM[:SS]]`` (local time when no
    offset is given), or from a Unix timestamp (seconds, or milliseconds when large).

    None for blank; ``ValueError`` for anything else.
    """
    if value is None:
        return None
    if value.__class__ is not str and isinstance(value, bool):
        raise ValueError("not a time")
    if value.__class__ is not str and isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 100_000_000_000 else value  # type: ignore[operator]
        try:
            parsed = datetime.fromtimestamp(seconds, UTC)  # type: ignore[arg-type]
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"not a time: {value!r}") from None
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            if len(text) >= 10 and text[2] == "/" and text[5] == "/":
                parsed = _parse_vn(text)
            else:
                parsed = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not a date/time: {text[:40]!r}") from None
        if parsed.tzinfo is None:
            parsed = (parsed - VN_OFFSET).replace(tzinfo=UTC)
        elif parsed.tzinfo is not UTC:
            parsed = parsed.astimezone(UTC)
    else:
        raise ValueError(f"not a time: {type(value).__name__}")
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise ValueError(f"implausible year {parsed.year}")
    return parsed


def _parse_vn(text: str) -> datetime:
    """``dd/mm/yyyy``, ``dd/mm/yyyy HH:MM`` or ``dd/mm/yyyy HH:MM:SS`` (naive)."""
    day, month, year = int(text[0:2]), int(text[3:5]), int(text[6:10])
    rest = text[10:].strip()
    if not rest:
        return datetime(year, month, day)
    clock = rest.split(":")
    if len(clock) not in (2, 3) or not all(part.isdigit() for part in clock):
        raise ValueError(text)
    second = int(clock[2]) if len(clock) == 3 else 0
    return datetime(year, month, day, int(clock[0]), int(clock[1]), second)


def _phone(value: str | None) -> str | None:
    """A phone number as digits, ``+84`` / ``0084`` written as ``0``. When several numbers are
    given (``"0912345678 / 0987654321"``, separated by "/", ",", ";" or " - "), the first one.
    ``ValueError`` for anything but digits and separators, or fewer than ``PHONE_MIN_DIGITS`` or
    more than ``PHONE_MAX_DIGITS`` digits."""
    if value is None:
        return None
    if value.isdigit() and value.isascii():
        text = value
    else:
        first = _PHONE_LIST.split(value, 1)[0]
        text = _PHONE_SEPARATORS.sub("", first)
        if text.startswith("+84"):
            text = "0" + text[3:]
        elif text.startswith("0084"):
            text = "0" + text[4:]
        if not text.isdigit() or not text.isascii():
            raise ValueError("applicant_phone must be digits only")
    if not PHONE_MIN_DIGITS <= len(text) <= PHONE_MAX_DIGITS:
        raise ValueError(
            f"applicant_phone has {len(text)} digits "
            f"(expected {PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS})"
        )
    return text


def _id_number(value: str | None) -> str | None:
    """An ID number (CCCD, CMND, passport ``C1234567``): ASCII letters and digits, upper case,
    without spaces, dots or dashes; ``ValueError`` for anything else."""
    if value is None or (value.isdigit() and value.isascii()):
        return value
    text = _ID_SEPARATORS.sub("", value).upper()
    if not text.isalnum() or not text.isascii():
        raise ValueError("applicant_id_number must be letters and digits only")
    return text


_CANONICAL_CODE = re.compile(r"[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}-([0-9]{6})-[0-9]{3,6}")
_findable_dates: dict[str, bool] = {}


def chat_findable(code: str) -> bool:
    """Whether a citizen typing ``code`` (as the record stores it) into the chat finds this
    dossier: ``knowledge.receipt.find_receipt_code`` reads a code from it and its lookup key is
    the code's. The canonical form (``000.00.17.H12-220615-0001``) is found exactly when its
    date is a real date (cached per date); anything else goes through the chat's own scan."""
    match = _CANONICAL_CODE.fullmatch(code)
    if match is not None:
        found = _findable_dates.get(match[1])
        if found is None:
            found = find_receipt_code(code) == code
            if len(_findable_dates) < 100_000:
                _findable_dates[match[1]] = found
        return found
    parsed = find_receipt_code(code)
    return parsed is not None and lookup_key(parsed) == lookup_key(code)


# --- records -----------------------------------------------------------------------------------


_IMPLIED_STATUS_TIME = {
    Status.ACCEPTED: "received_at",
    Status.PROCESSED: "finished_at",
    Status.RETURNED: "returned_at",
}


_TEXT_FIELDS = ("procedure_code", "agency", "applicant_name", "postal_tracking")
_LONG_TEXT_FIELDS = ("delay_reason", "note")
_LIMITED = tuple(MAX_LENGTHS.items())
_column_plans: dict[tuple[object, ...], tuple[tuple[object, str], ...]] = {}


def _column_plan(names: tuple[object, ...]) -> tuple[tuple[object, str], ...]:
    """The ``(column, field)`` pairs of a set of column names (cached: a file's rows share one)."""
    plan = _column_plans.get(names)
    if plan is None:
        plan = tuple(
            (name, field)
            for name in names
            if isinstance(name, str) and (field := field_for_column(name)) is not None
        )
        if len(_column_plans) < 1_000:
            _column_plans[names] = plan
    return plan


def collect_fields(mapping: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """The mapping's values under the record's field names, and conflicts between aliases."""
    values: dict[str, object] = {}
    problems: list[str] = []
    for name, field in _column_plan(tuple(mapping)):
        value = mapping[name]  # type: ignore[index]
        if value is None or value == "":
            continue
        previous = values.get(field)
        if previous is None:
            values[field] = value
        elif previous != value:
            problems.append(f"{field} given twice with different values ({name!r})")
    return values, problems


def parse_record(
    mapping: Mapping[str, object], *, default_agency: str | None = None
) -> DossierRecord:
    """Validate one row or API item into a ``DossierRecord``.

    ``default_agency`` is used when the item names no agency (the API key's agency). Raises
    ``RecordError`` listing every problem found (not only the first).
    """
    code, key, status, out = _validate(mapping, default_agency)
    return DossierRecord(receipt_code=code, lookup_key=key, status=status, **out)


# The values of ``parse_row`` (and ``record_row``): the lookup key, then the dossier columns in
# DATA_FIELDS order, then the note.
ROW_FIELDS: tuple[str, ...] = ("lookup_key", *DATA_FIELDS, "note")


def sqlite_time(value: datetime | None) -> str | None:
    """A UTC datetime exactly as ``storage.models.UtcDateTime`` stores it in SQLite (sortable
    text, ``YYYY-MM-DD HH:MM:SS.ffffff``)."""
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = value.isoformat(" ")[:-6]  # without "+00:00"
    return text if value.microsecond else text + ".000000"


def parse_row(
    mapping: Mapping[str, object],
    *,
    default_agency: str | None = None,
    sqlite_times: bool = False,
) -> tuple[Any, ...]:
    """``parse_record`` as plain values in ``ROW_FIELDS`` order, the form the database driver
    takes: status and channel as numbers, times as aware datetimes or, with ``sqlite_times``,
    as the text SQLite stores. What a file import sends from its parser process (cheap to
    pickle, nothing left to convert on the writing side). Raises ``RecordError`` as
    ``parse_record`` does."""
    code, key, status, out = _validate(mapping, default_agency)
    channel = out["channel"]
    received, appointment, status_at = out["received_at"], out["appointment_at"], out["status_at"]
    finished, returned, new_appointment = (
        out["finished_at"], out["returned_at"], out["new_appointment_at"],
    )  # fmt: skip
    if sqlite_times:
        received = received and sqlite_time(received)
        appointment = appointment and sqlite_time(appointment)
        status_at = status_at and sqlite_time(status_at)
        finished = finished and sqlite_time(finished)
        returned = returned and sqlite_time(returned)
        new_appointment = new_appointment and sqlite_time(new_appointment)
    return (
        key, code, out["procedure_code"], out["agency"], out["applicant_name"],
        out["applicant_phone"], out["applicant_id_number"],
        int(channel) if channel is not None else None, received, appointment, int(status),
        status_at, finished, returned, new_appointment, out["delay_reason"],
        out["postal_tracking"], out["note"],
    )  # fmt: skip


def record_row(record: DossierRecord, *, sqlite_times: bool = False) -> tuple[Any, ...]:
    """A ``DossierRecord`` as ``parse_row`` gives it."""
    time = sqlite_time if sqlite_times else _same_time
    channel = record.channel
    return (
        record.lookup_key, record.receipt_code, record.procedure_code, record.agency,
        record.applicant_name, record.applicant_phone, record.applicant_id_number,
        int(channel) if channel is not None else None, time(record.received_at),
        time(record.appointment_at), int(record.status), time(record.status_at),
        time(record.finished_at), time(record.returned_at), time(record.new_appointment_at),
        record.delay_reason, record.postal_tracking, record.note,
    )  # fmt: skip


def _same_time(value: datetime | None) -> datetime | None:
    return value


# A file spells its statuses and channels a few ways, over and over: each text is parsed once.
_known_statuses: dict[str, Status] = {}
_known_channels: dict[str, DossierChannel | None] = {}
_KNOWN_MAX = 1_000


def _validate(
    mapping: Mapping[str, object], default_agency: str | None
) -> tuple[str, str, Status, dict[str, Any]]:
    """The checks of ``parse_record``: ``(code, lookup key, status, other fields)``.

    Every check runs, so a bad row is reported with all its reasons at once."""
    values, reasons = collect_fields(mapping)
    get = values.get
    out: dict[str, Any] = {}
    code, key = _check_code(get("receipt_code"), reasons)
    _check_texts(get, out, reasons, default_agency)
    _check_identity(get, out, reasons)
    for field, limit in _LIMITED:
        text = out.get(field)
        if text is not None and len(text) > limit:
            reasons.append(f"{field} is longer than {limit} characters")
    status = _check_status(get("status"), reasons)
    _check_channel(get("channel"), out, reasons)
    _check_times(get, out, reasons)
    if reasons:
        raise RecordError(reasons)
    assert status is not None and code is not None  # for type checkers: no reasons above
    if out["status_at"] is None and status in _IMPLIED_STATUS_TIME:
        out["status_at"] = out[_IMPLIED_STATUS_TIME[status]]
    return code, key, status, out


def _check_code(raw: object, reasons: list[str]) -> tuple[str | None, str]:
    """The receipt code upper-cased and its lookup key (letters and digits only)."""
    try:
        code = clean_text(raw)
    except ValueError as error:
        reasons.append(f"receipt_code: {error}")
        return None, ""
    if code is None:
        reasons.append("receipt_code is missing")
        return None, ""
    code = code.upper()
    key = lookup_key(code)
    if len(code) > MAX_LENGTHS["receipt_code"]:
        reasons.append(f"receipt_code is longer than {MAX_LENGTHS['receipt_code']} characters")
    elif not LOOKUP_KEY_MIN <= len(key) <= LOOKUP_KEY_MAX:
        reasons.append(
            f"receipt_code {code[:40]!r} has {len(key)} letters and digits "
            f"(expected {LOOKUP_KEY_MIN} to {LOOKUP_KEY_MAX})"
        )
    return code, key


def _check_texts(
    get: Callable[[str], Any], out: dict[str, Any], reasons: list[str], default_agency: str | None
) -> None:
    """The free-text fields, cleaned; the agency, or the default."""
    for field in _TEXT_FIELDS:
        try:
            out[field] = clean_text(get(field))
        except ValueError as error:
            reasons.append(f"{field}: {error}")
            out[field] = None
    for field in _LONG_TEXT_FIELDS:
        try:
            out[field] = clean_text(get(field), multiline=True)
        except ValueError as error:
            reasons.append(f"{field}: {error}")
            out[field] = None
    if out["agency"] is None:
        if default_agency is not None:
            out["agency"] = clean_text(default_agency)
        if out["agency"] is None and not any(r.startswith("agency") for r in reasons):
            reasons.append("agency is missing")


def _check_identity(get: Callable[[str], Any], out: dict[str, Any], reasons: list[str]) -> None:
    """The applicant's phone and ID number (the chat's second factors), normalised."""
    try:
        out["applicant_phone"] = _phone(clean_text(get("applicant_phone")))
    except ValueError as error:
        reasons.append(str(error))
        out["applicant_phone"] = None
    try:
        out["applicant_id_number"] = _id_number(clean_text(get("applicant_id_number")))
    except ValueError as error:
        reasons.append(str(error))
        out["applicant_id_number"] = None


def _check_status(raw_status: Any, reasons: list[str]) -> Status | None:
    """The status, by number or name; names already seen come from a small cache."""
    if raw_status is None:
        reasons.append("status is missing")
        return None
    status = _known_statuses.get(raw_status) if raw_status.__class__ is str else None
    if status is not None:
        return status
    try:
        status = parse_status(raw_status)
    except ValueError as error:
        reasons.append(str(error))
        return None
    if raw_status.__class__ is str and len(_known_statuses) < _KNOWN_MAX:
        _known_statuses[raw_status] = status
    return status


def _check_channel(raw_channel: Any, out: dict[str, Any], reasons: list[str]) -> None:
    """The submission channel, by number or name; names already seen come from a cache."""
    if raw_channel.__class__ is str and raw_channel in _known_channels:
        out["channel"] = _known_channels[raw_channel]
        return
    try:
        out["channel"] = parse_channel(raw_channel)
    except ValueError as error:
        reasons.append(str(error))
        return
    if raw_channel.__class__ is str and len(_known_channels) < _KNOWN_MAX:
        _known_channels[raw_channel] = out["channel"]


def _check_times(get: Callable[[str], Any], out: dict[str, Any], reasons: list[str]) -> None:
    """Every time field parsed (local time when no offset); appointments not before receipt."""
    for field in TIME_FIELDS:
        raw = get(field)
        if raw is None:
            out[field] = None
            continue
        try:
            out[field] = parse_time(raw)
        except ValueError as error:
            reasons.append(f"{field}: {error}")
            out[field] = None
    received = out["received_at"]
    if received is not None:
        appointment, new_appointment = out["appointment_at"], out["new_appointment_at"]
        if appointment is not None and appointment < received:
            reasons.append("appointment_at is before received_at")
        if new_appointment is not None and new_appointment < received:
            reasons.append("new_appointment_at is before received_at")


# --- files -------------------------------------------------------------------------------------

SNIFF_BYTES = 64 * 1024
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}


class _CountingRaw(io.RawIOBase):
    """Counts the bytes read from a binary file (for a progress bar over a text stream)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.count += size
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()


def _sniff(head: bytes, path: Path) -> str:
    """``"csv"`` or ``"jsonl"`` for the file's first bytes, or ``RecordFileError``."""
    if head.startswith(b"PK\x03\x04"):
        raise RecordFileError("this is an XLSX/ZIP file; export the sheet as CSV (UTF-8)")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise RecordFileError("this is an old Excel (XLS) file; export the sheet as CSV (UTF-8)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise RecordFileError("this file is UTF-16; save it as UTF-8")
    if b"\x00" in head:
        raise RecordFileError("this is a binary file, not CSV or JSON Lines")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError:
        raise RecordFileError(
            "this file is not UTF-8 text (save it as CSV UTF-8 / JSON Lines in UTF-8)"
        ) from None
    start = text.lstrip()[:200].lower()
    if start.startswith(("<!doctype", "<html", "<?xml", "<table", "<head", "<body")):
        raise RecordFileError("this is an HTML/XML page, not CSV or JSON Lines")
    if not start:
        raise RecordFileError("the file is empty")
    if start.startswith("["):
        raise RecordFileError("this is a JSON array; write JSON Lines (one object per line)")
    if start.startswith("{") or path.suffix.lower() in JSONL_SUFFIXES:
        return "jsonl"
    return "csv"


Row = tuple[int, Mapping[str, object] | None, str | None]


class RecordReader:
    """Iterates ``(line number, row, error)`` over a CSV or JSON Lines file.

    Exactly one of ``row`` and ``error`` is None. ``bytes_read`` and ``size`` give progress.
    Use as a context manager (or call ``close``) to release the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            raw = self.path.open("rb")
        except OSError as error:
            raise RecordFileError(f"cannot read the file: {error.strerror or error}") from None
        self.size = self.path.stat().st_size
        try:
            self.kind = _sniff(raw.read(SNIFF_BYTES), self.path)
            raw.seek(0)
        except BaseException:
            raw.close()
            raise
        self._counter = _CountingRaw(raw)
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._counter, 1 << 16),
            encoding="utf-8-sig",
            errors="replace",
            newline="",
        )
        self._rows = self._csv_rows() if self.kind == "csv" else self._jsonl_rows()
        if self.kind == "csv":
            self._header = self._read_header()

    @property
    def bytes_read(self) -> int:
        """Bytes taken from the file so far (read-ahead included)."""
        return self._counter.count

    def __iter__(self) -> RecordReader:
        return self

    def __next__(self) -> Row:
        return next(self._rows)

    def close(self) -> None:
        """Close the file."""
        self._text.close()

    def __enter__(self) -> RecordReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_header(self) -> list[str]:
        first = self._text.readline()
        self._header_line = 1
        while first and not first.strip():
            first = self._text.readline()
            self._header_line += 1
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: counts[d])
        self._reader = csv.reader(self._text, delimiter=delimiter)
        header = next(csv.reader([first], delimiter=delimiter), [])
        header = [name.strip() for name in header]
        if not any(field_for_column(name) == "receipt_code" for name in header):
            shown = ", ".join(repr(name) for name in header[:12])
            raise RecordFileError(
                "no receipt code column (receipt_code, dossierNo, Mã hồ sơ...) in the header: "
                + (shown or "(empty)")
            )
        return header

    def _csv_rows(self) -> Iterator[Row]:
        header = self._header
        width = len(header)
        reader = self._reader
        line = self._header_line
        for fields in reader:
            start, line = line + 1, self._header_line + reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != width:
                if len(fields) > width and not any(f.strip() for f in fields[width:]):
                    fields = fields[:width]
                else:
                    yield start, None, f"{len(fields)} fields, the header has {width}"
                    continue
            if "\ufffd" in "".join(fields):
                yield start, None, "not valid UTF-8"
                continue
            yield start, dict(zip(header, fields)), None

    def _jsonl_rows(self) -> Iterator[Row]:
        for number, line in enumerate(self._text, start=1):
            if not line.strip():
                continue
            if "\ufffd" in line:
                yield number, None, "not valid UTF-8"
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as error:
                yield number, None, f"invalid JSON: {error.msg} (column {error.colno})"
                continue
            if not isinstance(item, dict):
                yield number, None, "not a JSON object"
                continue
            yield number, item, None


def read_records(path: str | Path) -> RecordReader:
    """Open a CSV (UTF-8 with or without BOM; comma, semicolon or tab) or JSON Lines file.

    Raises ``RecordFileError`` at once for a file that is not one (binary, XLSX, HTML, not
    UTF-8, a CSV without a receipt code column); the returned reader yields
    ``(line number, row, error)``.
    """
    return RecordReader(path)
