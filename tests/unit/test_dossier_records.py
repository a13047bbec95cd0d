"""knowledge.dossier_records: one export row or API item to a validated record; files to rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.dossier import DossierChannel, Status, digits_of, last_digits_match, lookup_key
from knowledge.dossier_records import (
    DossierRecord,
    RecordError,
    RecordFileError,
    agency_key,
    chat_findable,
    field_for_column,
    parse_record,
    parse_time,
    read_records,
)
from knowledge.receipt import find_receipt_code

BASE = {
    "receipt_code": "000.00.17.H12-260315-0042",
    "agency": "UBND Quận 1",
    "status": "4",
}


def reasons(mapping: dict[str, object], **kwargs: object) -> list[str]:
    with pytest.raises(RecordError) as caught:
        parse_record(mapping, **kwargs)  # type: ignore[arg-type]
    return caught.value.reasons


def test_igate_row_becomes_a_record_with_utc_times_and_clean_values() -> None:
    record = parse_record(
        {
            "dossierNo": "  000.00.17.h12-260315-0042 ",
            "procedureCode": "1.001193",
            "agencyName": "UBND  Phường\u200b Bến Nghé",
            "applicantName": "Nguyê\u0303n Văn An",  # decomposed ễ
            "phone": "+84 912.345.678",
            "cccd": "079 123 456 789",
            "applyMethodName": "Trực tuyến",
            "acceptedDate": "15/03/2026 08:30",
            "appointmentDate": "2026-03-20T17:00:00+07:00",
            "dossierStatusName": "Đã trả kết quả",
            "returnedDate": "19/03/2026 16:45:10",
            "extra column": "ignored",
        }
    )
    assert record == DossierRecord(
        receipt_code="000.00.17.H12-260315-0042",
        lookup_key="0000017H122603150042",
        agency="UBND Phường Bến Nghé",
        status=Status.RETURNED,
        procedure_code="1.001193",
        applicant_name="Nguyễn Văn An",
        applicant_phone="0912345678",
        applicant_id_number="079123456789",
        channel=DossierChannel.ONLINE,
        received_at=datetime(2026, 3, 15, 1, 30, tzinfo=UTC),
        appointment_at=datetime(2026, 3, 20, 10, 0, tzinfo=UTC),
        # no status time given: a returned dossier's status time is its return time
        status_at=datetime(2026, 3, 19, 9, 45, 10, tzinfo=UTC),
        returned_at=datetime(2026, 3, 19, 9, 45, 10, tzinfo=UTC),
    )
    assert record.applicant_name == "Nguy\u1ec5n Văn An"  # NFC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-15T08:30:00", datetime(2026, 3, 15, 1, 30, tzinfo=UTC)),  # local time
        ("2026-03-15 08:30", datetime(2026, 3, 15, 1, 30, tzinfo=UTC)),
        ("2026-03-15", datetime(2026, 3, 14, 17, 0, tzinfo=UTC)),  # midnight local
        ("2026-03-15T08:30:00Z", datetime(2026, 3, 15, 8, 30, tzinfo=UTC)),
        ("2026-03-15T08:30:00.250+0700", datetime(2026, 3, 15, 1, 30, 0, 250000, tzinfo=UTC)),
        ("15/03/2026", datetime(2026, 3, 14, 17, 0, tzinfo=UTC)),
        ("15/03/2026 08:30:15", datetime(2026, 3, 15, 1, 30, 15, tzinfo=UTC)),
        (1773538200, datetime(2026, 3, 15, 1, 30, tzinfo=UTC)),  # Unix seconds
        (1773538200000, datetime(2026, 3, 15, 1, 30, tzinfo=UTC)),  # milliseconds
        ("  ", None),
        (None, None),
    ],
)
def test_times(text: object, expected: datetime | None) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-13-01", "32/01/2026", "15/03/2026 8h30", "yesterday", "1880-01-01", True]
)
def test_bad_times_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_every_problem_of_a_row_is_reported_at_once() -> None:
    found = reasons({"code": "", "status": "", "agency": "  ", "note": "x"})
    assert found == ["receipt_code is missing", "agency is missing", "status is missing"]

    found = reasons(
        {
            "receipt_code": "abc-12",
            "agency": "A",
            "status": "Đang chờ phép màu",
            "received_at": "2026-03-15",
            "appointment_at": "2026-03-10",
            "finished_at": "not a date",
            "applicant_phone": "0912 ABC 678",
            "applicant_id_number": "0791234/5678",
            "applicant_name": "x" * 256,
            "channel": "bồ câu",
        }
    )
    assert found[0] == "receipt_code 'ABC-12' has 5 letters and digits (expected 8 to 64)"
    assert "applicant_phone must be digits only" in found
    assert "applicant_id_number must be letters and digits only" in found
    assert "applicant_name is longer than 255 characters" in found
    assert any(r.startswith("unknown status") for r in found)
    assert any(r.startswith("unknown channel") for r in found)
    assert "finished_at: not a date/time: 'not a date'" in found
    assert "appointment_at is before received_at" in found


def test_status_by_number_or_any_known_name() -> None:
    assert parse_record({**BASE, "status": 9}).status is Status.PROCESSED
    assert parse_record({**BASE, "status": "Chờ bổ sung hồ sơ"}).status is (
        Status.SUPPLEMENT_REQUESTED
    )
    assert parse_record({**BASE, "status": "da tra ket qua"}).status is Status.RETURNED
    assert reasons({**BASE, "status": 11}) == ["unknown status number: 11"]


def test_receipt_code_limits_and_key() -> None:
    record = parse_record({**BASE, "receipt_code": "38.98.h29-210519-0013"})
    assert (record.receipt_code, record.lookup_key) == (
        "38.98.H29-210519-0013",
        "3898H292105190013",
    )
    assert reasons({**BASE, "receipt_code": "1234567"})[0].endswith("(expected 8 to 64)")
    assert reasons({**BASE, "receipt_code": "9" * 65}) == [
        "receipt_code is longer than 64 characters"
    ]
    assert len(parse_record({**BASE, "receipt_code": "9" * 64}).lookup_key) == 64


def test_aliases_that_disagree_are_an_error_and_agreeing_ones_are_not() -> None:
    assert reasons({**BASE, "dossierNo": "000.00.17.H12-260315-0043"}) == [
        "receipt_code given twice with different values ('dossierNo')"
    ]
    assert parse_record({**BASE, "dossierNo": BASE["receipt_code"]}).lookup_key


def test_column_names_fold_case_accents_and_separators() -> None:
    for name in ("dossierNo", "dossier_no", "Dossier No", "DOSSIER-NO", "Mã hồ sơ", "code"):
        assert field_for_column(name) == "receipt_code", name
    assert field_for_column("Ngày hẹn trả") == "appointment_at"
    assert field_for_column("Trạng thái") == "status"
    assert field_for_column("favourite colour") is None


def test_default_agency_is_used_only_when_the_item_names_none() -> None:
    item = {"receipt_code": BASE["receipt_code"], "status": 2}
    assert parse_record(item, default_agency="UBND Quận 1").agency == "UBND Quận 1"
    assert parse_record({**item, "agency": "Sở Y tế"}, default_agency="X").agency == "Sở Y tế"
    assert agency_key(" UBND  quận 1") == agency_key("UBND Quận 1")


def test_a_supplement_request_keeps_its_note_and_multiline_reason() -> None:
    record = parse_record(
        {**BASE, "status": 5, "note": " Bổ sung:\n- bản sao CCCD ", "delay_reason": "a\n\nb"}
    )
    assert record.note == "Bổ sung:\n- bản sao CCCD"
    assert record.delay_reason == "a\n\nb"


# --- files -------------------------------------------------------------------------------------


def test_csv_with_bom_semicolons_quoted_newlines_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffdossierNo;agencyName;dossierStatusName;delay_reason\n"
        "000.00.17.H12-260315-0001;UBND Quận 1;Đang xử lý;\n"
        '000.00.17.H12-260315-0002;UBND Quận 1;Đang xử lý;"two\nlines"\n'
        "\n"
        "000.00.17.H12-260315-0003;UBND Quận 1\n"
        "000.00.17.H12-260315-0004;UBND Quận 1;Đã trả kết quả;;;\n".encode()
    )
    with read_records(path) as reader:
        rows = list(reader)
        assert reader.kind == "csv"
        assert reader.bytes_read == path.stat().st_size
    assert [(line, error) for line, _, error in rows] == [
        (2, None),
        (3, None),
        (6, "2 fields, the header has 4"),
        (7, None),  # empty trailing fields are tolerated
    ]
    assert rows[1][1] == {
        "dossierNo": "000.00.17.H12-260315-0002",
        "agencyName": "UBND Quận 1",
        "dossierStatusName": "Đang xử lý",
        "delay_reason": "two\nlines",
    }
    assert parse_record(rows[3][1]).status is Status.RETURNED  # type: ignore[arg-type]


def test_jsonl_rows_and_their_errors(tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(
        json.dumps({**BASE, "status": 4}, ensure_ascii=False)
        + "\n\n{broken\n[1, 2]\n"
        + json.dumps(BASE)
        + "\n",
        encoding="utf-8",
    )
    rows = list(read_records(path))
    assert [(line, error is None) for line, _, error in rows] == [
        (1, True),
        (3, False),
        (4, False),
        (5, True),
    ]
    assert rows[1][2].startswith("invalid JSON")  # type: ignore[union-attr]
    assert rows[2][2] == "not a JSON object"


def test_invalid_utf8_in_the_middle_rejects_that_row_only(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    good = "receipt_code,agency,status\n" + "000.00.17.H12-260315-0001,A,2\n" * 5000
    path.write_bytes(good.encode() + b"000.00.17.H12-260315-0002,Qu\xe1n 1,2\n")
    rows = list(read_records(path))
    assert len(rows) == 5001
    assert rows[-1][0] == 5002 and rows[-1][2] == "not valid UTF-8"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04rest of a zip", "XLSX"),
        (b"\xd0\xcf\x11\xe0old excel", "XLS"),
        (b"<!DOCTYPE html><html><body>login</body></html>", "HTML"),
        (b"\x00\x01\x02binary", "binary"),
        ("receipt_code,status\n".encode("utf-16"), "UTF-16"),
        (b"receipt_code,agency\nQu\xe1n,1\n", "not UTF-8"),
        (b'[{"receipt_code": "x"}]', "JSON Lines"),
        (b"name,phone\nAn,0912345678\n", "no receipt code column"),
        (b"", "empty"),
    ],
)
def test_wrong_files_are_refused_with_a_reason(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(RecordFileError, match=message):
        read_records(path)


def test_missing_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(RecordFileError, match="cannot read"):
        read_records(tmp_path / "nope.csv")


def test_parse_row_is_the_record_in_the_drivers_form() -> None:
    from knowledge.dossier_records import ROW_FIELDS, parse_row, record_row, sqlite_time

    item = {
        "dossierNo": "000.00.17.h12-260315-0042",
        "agencyName": "UBND Quận 1",
        "applyMethodName": "Trực tuyến",
        "acceptedDate": "15/03/2026 08:30",
        "dossierStatusName": "Đã trả kết quả",
        "returnedDate": "2026-03-19T16:45:10.250+07:00",
        "note": "ghi chú",
    }
    record = parse_record(item)
    row = parse_row(item)
    assert len(row) == len(ROW_FIELDS)
    assert row == record_row(record)
    assert dict(zip(ROW_FIELDS, row)) == {
        "lookup_key": record.lookup_key,
        **{
            name: getattr(record, name)
            for name in ROW_FIELDS[1:]
            if name not in ("status", "channel")
        },
        "status": 10,
        "channel": 2,
    }
    text = parse_row(item, sqlite_times=True)
    assert text == record_row(record, sqlite_times=True)
    assert text[ROW_FIELDS.index("received_at")] == "2026-03-15 01:30:00.000000"
    assert text[ROW_FIELDS.index("status_at")] == "2026-03-19 09:45:10.250000"
    assert text[ROW_FIELDS.index("appointment_at")] is None
    assert sqlite_time(None) is None
    for bad in ({**item, "dossierStatusName": "?"}, {**item, "applyMethodName": "fax"}):
        with pytest.raises(RecordError):
            parse_row(bad)
    # Statuses and channels are remembered by their text, never wrongly.
    assert parse_row({**item, "dossierStatusName": "4"})[ROW_FIELDS.index("status")] == 4
    assert parse_row({**item, "applyMethodName": ""})[ROW_FIELDS.index("channel")] is None


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("C1234567", "C1234567"),  # a passport
        ("c 123.456-7", "C1234567"),
        ("079 123 456 789", "079123456789"),  # CCCD
        ("B-1234567", "B1234567"),
        ("07912345678X", "07912345678X"),
    ],
)
def test_id_numbers_may_hold_letters(given: str, stored: str) -> None:
    record = parse_record({**BASE, "applicant_id_number": given})
    assert record.applicant_id_number == stored
    # the chat asks for the last 4 digits
    assert last_digits_match(record.applicant_id_number, digits_of(stored)[-4:])


def test_passport_number_verifies_with_its_last_four_digits() -> None:
    record = parse_record({**BASE, "cccd": "C1234567"})
    assert last_digits_match(record.applicant_id_number, "4567")
    assert not last_digits_match(record.applicant_id_number, "C456")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("0912345678 / 0987654321", "0912345678"),
        ("0912345678/0987654321", "0912345678"),
        ("0912 345 678, 0987 654 321", "0912345678"),
        ("+84 912 345 678; 0987654321", "0912345678"),
        ("0912-345-678 - 0987-654-321", "0912345678"),
        ("(028) 3829 1234", "02838291234"),
        ("912345678", "912345678"),
    ],
)
def test_the_first_of_several_phones_is_kept(given: str, stored: str) -> None:
    assert parse_record({**BASE, "phone": given}).applicant_phone == stored


@pytest.mark.parametrize(
    ("given", "digits"),
    [("12345", 5), ("09123456", 8), ("0912345678 0987654321", 20), ("1234567890123", 13)],
)
def test_phones_with_too_few_or_too_many_digits_are_refused(given: str, digits: int) -> None:
    assert reasons({**BASE, "phone": given}) == [
        f"applicant_phone has {digits} digits (expected 9 to 12)"
    ]


@pytest.mark.parametrize(
    ("code", "findable"),
    [
        ("000.00.17.H12-260315-0042", True),
        ("000.00.17.H12-260229-0042", False),  # 2026 is not a leap year
        ("000.00.17.H12-240229-0042", True),
        ("000.00.17.H12-261345-0042", False),
        ("38.98.H29-210519-0013", True),
        ("000.00.17.H12-260315-12", False),  # a 2-digit sequence
        ("HS-2026-000123", False),
        ("H12.260315.0042.EXTRA", False),
    ],
)
def test_chat_findable_agrees_with_the_chats_own_reading(code: str, findable: bool) -> None:
    found = find_receipt_code(code)
    assert (found is not None and lookup_key(found) == lookup_key(code)) is findable
    assert chat_findable(code) is findable
    assert chat_findable(code) is findable  # cached
