"""knowledge.dossier: statuses and channels as exports write them, the lookup key, the second
factor, masking and the lookup limits."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from knowledge.dossier import (
    CODE_FAILURE_WINDOW,
    CODE_MAX_FAILURES,
    DossierChannel,
    Status,
    locked_until,
    lookup_key,
    mask_name,
    mask_phone,
    national_phone,
    parse_channel,
    parse_status,
    second_factor_matches,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, Status.RETURNED),
        ("4", Status.PROCESSING),
        ("Đã trả kết quả", Status.RETURNED),
        ("da tra ket qua", Status.RETURNED),  # unaccented
        ("ĐANG XỬ LÝ", Status.PROCESSING),
        ("Yêu cầu bổ sung giấy tờ", Status.SUPPLEMENT_REQUESTED),
        ("Chờ bổ sung hồ sơ", Status.SUPPLEMENT_REQUESTED),  # iGate
        ("Chờ tiếp nhận", Status.REGISTERED),  # iGate
        ("Từ chối", Status.NOT_ACCEPTED),  # iGate
        (unicodedata.normalize("NFD", "Đã xử lý xong"), Status.PROCESSED),  # decomposed
    ],
)
def test_statuses_as_exports_write_them(value: object, expected: Status) -> None:
    assert parse_status(value) is expected


@pytest.mark.parametrize("value", [0, 11, "", "  ", "xong rồi?", True, None, 4.5])
def test_unknown_statuses_are_refused(value: object) -> None:
    with pytest.raises(ValueError):
        parse_status(value)


def test_channels() -> None:
    assert parse_channel("Trực tuyến") is DossierChannel.ONLINE
    assert parse_channel("truc tiep") is DossierChannel.DIRECT
    assert parse_channel(3) is DossierChannel.POSTAL
    assert parse_channel("") is None
    with pytest.raises(ValueError):
        parse_channel("bồ câu")


def test_lookup_key_ignores_case_and_separators() -> None:
    keys = {
        lookup_key(code)
        for code in (
            "000.00.17.H12-220615-0001",
            "000.00.17.h12 - 220615 - 0001",
            "000..00.17.H12--220615-0001",
            "０００.００.１７.Ｈ１２-２２０６１５-０００１",  # full-width
        )
    }
    assert keys == {"0000017H122206150001"}


def test_second_factor() -> None:
    phone, id_number = "0912345678", "C1234567"
    assert second_factor_matches(phone, id_number, digits="5678")
    assert second_factor_matches(phone, id_number, digits="4567")  # ID number's last digits
    assert not second_factor_matches(phone, id_number, digits="1234")
    assert not second_factor_matches(phone, id_number, digits="45678")
    assert second_factor_matches(phone, None, contact_phone="+84 912 345 678")
    assert not second_factor_matches(phone, None, contact_phone="+84 912 345 679")
    assert not second_factor_matches(None, None, digits="5678")  # nothing stored, nothing proven
    assert not second_factor_matches(phone, id_number)  # no factor given
    assert national_phone("84912345678") == national_phone("0912345678") == "912345678"


def test_names_are_masked() -> None:
    assert mask_name("Nguyễn Văn An") == "Nguyễn V. A."
    assert mask_name("  Trần   thị  bình ") == "Trần T. B."
    assert mask_name(None) == "" and mask_name("   ") == ""


def test_phones_are_masked_in_their_national_form() -> None:
    assert mask_phone("0987 654 777") == mask_phone("+84 987 654 777") == "09•••••777"
    assert mask_phone("84987654777") == "09•••••777"
    assert mask_phone("024 3825 1234") == "02••••••234"
    assert mask_phone("12345") == "" and mask_phone(None) == ""


def test_lock_ends_when_the_oldest_counted_failure_ages_out() -> None:
    start = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    failures = [start + timedelta(minutes=i) for i in range(CODE_MAX_FAILURES)]
    assert locked_until(failures[:-1], CODE_MAX_FAILURES, CODE_FAILURE_WINDOW) is None
    assert locked_until(failures, CODE_MAX_FAILURES, CODE_FAILURE_WINDOW) == (
        start + CODE_FAILURE_WINDOW
    )
    more = [*failures, start + timedelta(hours=1)]
    assert locked_until(more, CODE_MAX_FAILURES, CODE_FAILURE_WINDOW) == (
        failures[1] + CODE_FAILURE_WINDOW
    )
