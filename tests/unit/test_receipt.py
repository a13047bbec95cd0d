import unicodedata
from datetime import date

import pytest

from knowledge.dossier import lookup_key
from knowledge.receipt import (
    RECEIPT_CODE_EXAMPLE,
    find_receipt_code,
    looks_like_receipt_attempt,
    mask_receipt_code,
    parse_receipt_code,
)

CANONICAL = "000.00.17.H12-220615-0001"


@pytest.mark.parametrize(
    "text",
    [
        "000.00.17.H12-220615-0001",
        "000.00.17.h12-220615-0001",
        "000.00.17.h12 220615 0001",
        "000 00 17 H12 220615 0001",
        "000..00.17.H12--220615-0001",
        "000.00.17.H12 - 220615 - 0001",
        "000 . 00 . 17 . H12 - 220615 - 0001",
        "000.00.17.H12_220615_0001",
        "000-00-17-H12-220615-0001",
        "0000017H12-220615-0001",
        "0000017h12 220615 0001",
        "0000017H122206150001",  # the lookup key itself
        "000.00.17.H.12-220615-0001",
        "000.00.17.H12–220615–0001",  # en dashes
        "000.00.17.H12—220615—0001",  # em dashes
        "000.00.17.H12\u2212220615\u22120001",  # minus signs
        "０００.００.１７.Ｈ１２－２２０６１５－０００１",  # full width
        "000.00\u200b.17.H12\u200d-220615-0001",  # zero-width space and joiner
        "\ufeff000.00.17.H12-220615-0001\u200e",
        "hồ sơ 000.00.17.H12-220615-0001 của tôi đến đâu rồi",
        "Mã hồ sơ:000.00.17.H12-220615-0001.",
        "cho hỏi hồ sơ số 000.00.17.h12-220615-0001 đã có kết quả chưa ạ?",
        "(000.00.17.H12-220615-0001)",
        "\n  000.00.17.H12-220615-0001  \n",
        "https://dichvucong.gov.vn/p/home/dvc-tra-cuu-ho-so.html?code=000.00.17.H12-220615-0001",
        "https://motcua.example.gov.vn/tra-cuu?id=5&maHoSo=000.00.17.H12-220615-0001&lang=vi",
        "https://example.gov.vn/tra-cuu?code=000.00.17.H12%2D220615%2D0001",
        "https%3A%2F%2Fexample.gov.vn%2F%3Fcode%3D000.00.17.H12-220615-0001",
        "https://example.gov.vn/tra-cuu?code=000%2E00%2E17%2EH12-220615-0001",
        "000.00.17.H12-220615-0001|NGUYEN VAN A|0912345678|15/06/2022",
        "CQ:UBND|MaHS:000.00.17.H12-220615-0001|NgayHen:22/06/2022",
        '{"dossierNo": "000.00.17.H12-220615-0001", "status": 4}',
        "gọi 0912345678 về hồ sơ 000.00.17.H12-220615-0001",
        "hồ sơ số 12 000.00.17.H12-220615-0001",
    ],
)
def test_canonical_code_is_found_however_typed(text):
    assert find_receipt_code(text) == CANONICAL
    assert lookup_key(find_receipt_code(text)) == lookup_key(CANONICAL) == "0000017H122206150001"


def test_nfd_sentence():
    text = unicodedata.normalize("NFD", "mã hồ sơ của tôi là 000.00.17.h12-220615-0001 ạ")
    assert text != unicodedata.normalize("NFC", text)
    assert find_receipt_code(text) == CANONICAL


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("000.00.01.H29-231120-0042", "000.00.01.H29-231120-0042"),
        ("000.20.32.h57 251231 1234", "000.20.32.H57-251231-1234"),
        ("000.00.12.G01-240229-0007", "000.00.12.G01-240229-0007"),  # 2024 is a leap year
        ("000.00.17.H12-220615-001", "000.00.17.H12-220615-001"),  # 3-digit sequence kept
        ("000.00.17.H12-220615-000123", "000.00.17.H12-220615-000123"),  # 6 digits kept
        # older local formats
        ("38.98.H29-210519-0013", "38.98.H29-210519-0013"),
        ("38.98.h29 - 210519 - 0013", "38.98.H29-210519-0013"),
        ("38..98.H29--210519-0013", "38.98.H29-210519-0013"),
        ("01.51.H26-190725-0027", "01.51.H26-190725-0027"),
        ("H29-210519-0013", "H29-210519-0013"),  # best effort: the letter group alone
        ("38.98-210519-0013", "38.98-210519-0013"),  # dotted digits only
    ],
)
def test_other_units_and_local_formats(text, expected):
    assert find_receipt_code(text) == expected
    assert lookup_key(find_receipt_code(text)) == lookup_key(expected)


def test_parse_gives_parts():
    code = parse_receipt_code("hồ sơ 0000017h12 220615 0001")
    assert code is not None
    assert code.unit == "000.00.17.H12"
    assert code.received_on == date(2022, 6, 15)
    assert code.sequence == "0001"
    assert code.structured is True
    local = parse_receipt_code("38.98.H29-210519-0013")
    assert local is not None and local.structured is False and local.unit == "38.98.H29"


def test_first_code_wins():
    text = "hồ sơ 000.00.17.H12-220615-0001 và 000.00.17.H12-220616-0002"
    assert find_receipt_code(text) == CANONICAL


def test_the_example_is_a_code():
    assert find_receipt_code(RECEIPT_CODE_EXAMPLE) == RECEIPT_CODE_EXAMPLE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "làm căn cước công dân cần giấy tờ gì",
        "thủ tục 1.001193",
        "2.002307.000.00.00.H35",
        "mã thủ tục 1.001193.000.00.00.H12 lệ phí bao nhiêu",
        "2.002307.000.00.00.H35-220615-0001",  # a procedure code, not a unit part
        "0912345678",
        "Số ĐT 0912 345 678",
        "+84 912 345 678",
        "001099012345",  # citizen ID number
        "CCCD 001 099 012 345",
        "15/06/2022",
        "ngày 15-06-2022",
        "2022-06-15",
        "123456",
        "220615-0001",
        "lệ phí 50.000 đồng",
        "biển số 30A-123.45",
        "H12",
        "000.00.17.H12",  # incomplete: no date
        "000.00.17.H12-2206",
        "000.00.17.H12-221315-0001",  # month 13
        "000.00.17.H12-220230-0001",  # 30 February
        "000.00.17.H12-220615-01",  # sequence too short
        "000.00.17.H12-220615-0000001",  # sequence too long
        "12345.00.17.H12-220615-0001",  # too many leading digits
        "1234567890H12-220615-0001",
        "ABH12-220615-0001",  # inside a word
    ],
)
def test_not_a_receipt_code(text):
    assert find_receipt_code(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "000.00.17.H12-2206",
        "000.00.17.H12-22061",
        "000.00.17.H12-220615",
        "000.00.17.h12 220615",
        "000.00.17.H12-220615-01",
        "000.00.17.H12",
        "0000017H12",
        "hồ sơ 000.00.17.H12 của tôi",
        "000.00.17.H12-221315-0001",  # impossible date
        "H12-220615",
        "h12 - 2206",
        "38.98.H29",
        "38.98.H29-2105",
    ],
)
def test_malformed_attempts(text):
    assert find_receipt_code(text) is None
    assert looks_like_receipt_attempt(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "làm căn cước công dân cần giấy tờ gì",
        "thủ tục đăng ký khai sinh mất bao lâu",
        "1.001193",
        "thủ tục 2.002307.000.00.00.H35",
        "1.001193.000.00.00.H12",
        "0912345678",
        "001099012345",
        "15/06/2022",
        "ngày 15-06-2022",
        "H12",
        "phường 12 quận 3",
        "mẫu C12-2022",  # not a YYMM after the letter group
        "xe 29A-12345",
        "tôi ở G01 khu 2206",
        CANONICAL,  # complete, so not an attempt
        f"hồ sơ {CANONICAL} đến đâu rồi",
    ],
)
def test_not_an_attempt(text):
    assert looks_like_receipt_attempt(text) is False


@pytest.mark.parametrize(
    ("code", "masked"),
    [
        (CANONICAL, "000.00.17.H12-220615-****"),
        ("000.00.17.h12 220615 0001", "000.00.17.H12-220615-****"),
        ("38.98.H29-210519-0013", "38.98.H29-210519-****"),
        ("000.00.17.H12-220615-000123", "000.00.17.H12-220615-****"),
        ("Nguyễn Văn A 0912345678", "****"),
        ("", "****"),
    ],
)
def test_mask(code, masked):
    assert mask_receipt_code(code) == masked


def test_mask_hides_the_sequence_and_everything_else():
    masked = mask_receipt_code(f"{CANONICAL}|NGUYEN VAN A|0912345678")
    assert masked == "000.00.17.H12-220615-****"
    assert "0001" not in masked and "NGUYEN" not in masked


def test_long_text_is_bounded():
    text = "a " * 50_000 + CANONICAL
    assert find_receipt_code(text) is None  # beyond the scanned prefix
    assert find_receipt_code("a " * 100 + CANONICAL) == CANONICAL
