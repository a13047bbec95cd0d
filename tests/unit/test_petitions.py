import unicodedata
from datetime import UTC, date, datetime

import pytest

from knowledge.petitions import (
    REDACTED,
    Classification,
    DeadlineStatus,
    Problem,
    RequestKind,
    classify_request,
    deadline_status,
    format_tracking_code,
    is_valid_email,
    is_valid_phone,
    is_vietnamese_syllable,
    looks_vietnamese,
    parse_tracking_code,
    petition_deadlines,
    petition_received_day,
    publish_by,
    redact_personal_data,
    sender_strings,
    validate_content,
    validate_petition,
)
from knowledge.workdays import VN_TZ, working_days_between


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def vn(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


# --- classify_request ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "matched"),
    [
        (
            "Tôi muốn khiếu nại quyết định thu hồi đất của UBND huyện",
            RequestKind.COMPLAINT,
            "khiếu nại",
        ),
        ("toi muon khieu nai quyet dinh xu phat", RequestKind.COMPLAINT, "khieu nai"),
        ("KHIẾU NẠI về việc cấp sổ đỏ sai diện tích", RequestKind.COMPLAINT, "KHIẾU NẠI"),
        ("Đơn khiếu nại: phường không giải quyết hồ sơ", RequestKind.COMPLAINT, "khiếu nại"),
        ("Tôi đã khiếu nại nhiều lần mà chưa ai trả lời", RequestKind.COMPLAINT, "khiếu nại"),
        ("Tố cáo cán bộ nhận hối lộ", RequestKind.DENUNCIATION, "Tố cáo"),
        ("to cao can bo dia chinh xa", RequestKind.DENUNCIATION, "to cao"),
        ("Tôi muốn tố cáo hành vi lấn chiếm đất công", RequestKind.DENUNCIATION, "tố cáo"),
        ("Cán bộ xã vòi tiền khi làm sổ đỏ", RequestKind.DENUNCIATION, "vòi tiền"),
        ("can bo phuong nhan hoi lo de lam nhanh ho so", RequestKind.DENUNCIATION, "hoi lo"),
        ("Nhờ tư vấn luật đất đai giúp em", RequestKind.LEGAL_ADVICE, "tư vấn luật"),
        ("nho tu van phap luat ve thua ke", RequestKind.LEGAL_ADVICE, "tu van phap luat"),
        ("Luật sư tư vấn giúp em vụ ly hôn", RequestKind.LEGAL_ADVICE, "Luật sư"),
        ("luat su oi cho em hoi", RequestKind.LEGAL_ADVICE, "luat su"),
        (
            "Cho hỏi theo luật thì con riêng có được thừa kế không",
            RequestKind.LEGAL_ADVICE,
            "Cho hỏi theo luật",
        ),
        (
            "cho hoi theo luat thi hang xom xay lan dat co bi phat",
            RequestKind.LEGAL_ADVICE,
            "cho hoi theo luat",
        ),
        (
            "Hàng xóm xây lấn sang đất nhà tôi, theo pháp luật thì xử lý thế nào?",
            RequestKind.LEGAL_ADVICE,
            "theo pháp luật",
        ),
    ],
)
def test_classify_out_of_scope(text: str, kind: RequestKind, matched: str) -> None:
    result = classify_request(text)
    assert result.kind is kind
    assert result.matched == matched
    assert result.out_of_scope
    assert result.rule


@pytest.mark.parametrize(
    "text",
    [
        "Kiến nghị bỏ bớt giấy tờ khi làm khai sinh",
        "kien nghi bo bot giay to khi lam khai sinh",
        "Phản ánh cán bộ một cửa hướng dẫn chưa rõ",
        "Thủ tục tố tụng quá phức tạp, đề nghị đơn giản hóa",
        "Kiến nghị sửa đổi Luật Khiếu nại cho rõ thời hạn",
        "Đề nghị rút ngắn thời hạn giải quyết khiếu nại",
        "Quy định về tố cáo còn chồng chéo",
        "Đây không phải khiếu nại, tôi chỉ kiến nghị giảm phí",
        "Kiến nghị tăng cường phòng chống tham nhũng trong cấp phép xây dựng",
        "Mẫu tờ khai đăng ký kết hôn khó hiểu, đề nghị sửa lại",
        "Cấp chứng chỉ hành nghề luật sư mất quá nhiều thời gian",
        "Theo luật thì thời hạn là 5 ngày nhưng thực tế kéo dài cả tháng",
        "Tòa nhà tô cao quá che nắng",  # accented "tô" is not "tố"
        "Xin hỏi thủ tục cấp đổi căn cước làm ở đâu",
        "Nhờ tư vấn giúp thủ tục khai sinh cho con",
        "Vì sao thủ tục theo luật hộ tịch lại rườm rà vậy?",
        "Đề nghị công khai lịch tiếp công dân tại UBND xã",
    ],
)
def test_classify_petitions_are_not_flagged(text: str) -> None:
    result = classify_request(text)
    assert result == Classification(RequestKind.PETITION)
    assert not result.out_of_scope


def test_classify_nfd_and_invisible_characters() -> None:
    assert classify_request(nfd("Tôi muốn khiếu nại")).kind is RequestKind.COMPLAINT
    assert classify_request("tố\u200bcáo cán bộ").kind is RequestKind.DENUNCIATION
    assert classify_request(nfd("kiến nghị giảm phí")).kind is RequestKind.PETITION


def test_classify_first_person_overrides_rule_context() -> None:
    # "thủ tục" before the keyword would exempt it, but the sender speaks of his own case
    result = classify_request("Tôi làm thủ tục khiếu nại quyết định này")
    assert result.kind is RequestKind.COMPLAINT
    assert result.rule == "first_person"
    assert classify_request("Làm thủ tục khiếu nại rất rườm rà").kind is RequestKind.PETITION


def test_classify_earliest_and_priority() -> None:
    assert classify_request("Tố cáo và khiếu nại cán bộ xã").kind is RequestKind.DENUNCIATION
    assert classify_request("Khiếu nại và tố cáo cán bộ xã").kind is RequestKind.COMPLAINT
    # a complaint wins over a legal-advice request appearing earlier
    result = classify_request("Nhờ luật sư tư vấn, tôi muốn khiếu nại quyết định")
    assert result.kind is RequestKind.COMPLAINT


@pytest.mark.parametrize("text", ["", None, "   ", "!!! ???", "😀😀", "12345"])
def test_classify_unclear(text: str | None) -> None:
    assert classify_request(text).kind is RequestKind.UNCLEAR


# --- validate_petition -----------------------------------------------------------------------

GOOD_CONTENT = "Thủ tục đăng ký khai sinh yêu cầu quá nhiều giấy tờ, đề nghị giảm bớt bản sao."
GOOD = {
    "content": GOOD_CONTENT,
    "name": "Nguyễn Văn An",
    "phone": "0912 345 678",
    "address": "Số 12 ngõ 34 phố Hàng Bông, Hoàn Kiếm, Hà Nội",
}


def codes(problems: list[Problem]) -> list[str]:
    return [p.code for p in problems]


def test_valid_petition_has_no_problems() -> None:
    assert validate_petition(**GOOD) == []
    assert validate_petition(**{**GOOD, "phone": None}, email="an.nguyen@gmail.com") == []
    assert validate_petition(**{**GOOD, "content": nfd(GOOD_CONTENT)}) == []


@pytest.mark.parametrize(
    "content",
    [
        GOOD_CONTENT,
        "thu tuc dang ky khai sinh yeu cau qua nhieu giay to, de nghi giam bot",
        "Hồ sơ cấp đổi CCCD tại UBND phường chậm quá hạn hẹn trả",
        "Đề nghị cho nộp hồ sơ online qua VNeID thay vì phải đến trực tiếp",
        "den phuong lam giay xac nhan cu tru nhung can bo bat cho ca buoi sang",
    ],
)
def test_content_vietnamese_accepted(content: str) -> None:
    assert validate_content(content) == []
    assert looks_vietnamese(content)


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("", "content_empty"),
        (None, "content_empty"),
        ("  \u200b\ufeff  ", "content_empty"),
        ("khai sinh lâu", "content_too_short"),
        ("Đề nghị giảm phí", "content_too_short"),
        ("a" * 30, "content_unclear"),
        ("!!!!!!!!!!!!!!!!!!!!!!!!!!", "content_unclear"),
        ("😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀", "content_unclear"),
        ("12345678901234567890 1234", "content_unclear"),
        ("abc abc abc abc abc abc abc", "content_unclear"),
        (
            "I would like to report that the office is always closed on Monday",
            "content_not_vietnamese",
        ),
        ("Please reduce the paperwork required for birth registration", "content_not_vietnamese"),
        ("Tôi kiến nghị " + "giảm bớt giấy tờ " * 400, "content_too_long"),
    ],
)
def test_content_problems(content: str | None, code: str) -> None:
    assert codes(validate_content(content)) == [code]


def test_content_length_bounds() -> None:
    base = "Đề nghị giảm bớt giấy tờ "
    assert validate_content((base * 200)[:5000]) == []
    assert codes(validate_content(base * 201)) == ["content_too_long"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("", "name_missing"),
        (None, "name_missing"),
        ("An", "name_invalid"),  # one word
        ("Nguyễn 123", "name_invalid"),
        ("Nguyen Van @n", "name_invalid"),
        ("Nguyễn " + "A" * 100, "name_invalid"),
    ],
)
def test_name_problems(name: str | None, code: str) -> None:
    assert codes(validate_petition(**{**GOOD, "name": name})) == [code]


@pytest.mark.parametrize(
    "name", ["Nguyễn Văn An", "nguyen van an", "Lê Thị Ánh-Tuyết", "H'Hen Niê", nfd("Đỗ Đức")]
)
def test_names_accepted(name: str) -> None:
    assert validate_petition(**{**GOOD, "name": name}) == []


@pytest.mark.parametrize(
    "phone",
    [
        "0912345678",
        "0912 345 678",
        "0912.345.678",
        "+84 912 345 678",
        "84912345678",
        "(+84) 912-345-678",
        "0387654321",
        "0567654321",
        "0701234567",
        "0812345678",
        "024 3825 1234",
        "(0236) 382 1234",
        "０９１２３４５６７８",  # full-width digits
    ],
)
def test_valid_phones(phone: str) -> None:
    assert is_valid_phone(phone)
    assert validate_petition(**{**GOOD, "phone": phone}) == []


@pytest.mark.parametrize(
    "phone",
    [
        "091234567",  # 8 digits after the 0
        "09123456789",  # 10 digits, mobile prefix
        "0112345678",  # no such prefix
        "0612345678",
        "912345678",  # no trunk prefix
        "0912abc678",
        "024 3825 123",  # landline one digit short
        "không có",
    ],
)
def test_invalid_phones(phone: str) -> None:
    assert not is_valid_phone(phone)
    assert codes(validate_petition(**{**GOOD, "phone": phone})) == ["phone_invalid"]


def test_contact_rules() -> None:
    no_phone = {**GOOD, "phone": ""}
    assert codes(validate_petition(**no_phone)) == ["contact_missing"]
    assert codes(validate_petition(**no_phone, email="  ")) == ["contact_missing"]
    assert validate_petition(**no_phone, email="an@example.vn") == []
    assert codes(validate_petition(**no_phone, email="an@@example")) == ["email_invalid"]
    # a wrong phone is reported even when the e-mail is fine
    assert codes(validate_petition(**{**GOOD, "phone": "123"}, email="an@example.vn")) == [
        "phone_invalid"
    ]
    assert is_valid_email("nguyen.van-an+pakn@so-tu-phap.hanoi.gov.vn")
    assert not is_valid_email("an@localhost")
    assert not is_valid_email("an nguyen@gmail.com")


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("", "address_missing"),
        (None, "address_missing"),
        ("Hà Nội", "address_too_short"),
        ("123456789012", "address_invalid"),
        ("x" * 301, "address_too_long"),
    ],
)
def test_address_problems(address: str | None, code: str) -> None:
    assert codes(validate_petition(**{**GOOD, "address": address})) == [code]


def test_all_problems_reported_in_field_order() -> None:
    problems = validate_petition("", "A", "", "HN")
    assert problems == [
        Problem("content", "content_empty"),
        Problem("name", "name_invalid"),
        Problem("contact", "contact_missing"),
        Problem("address", "address_too_short"),
    ]


def test_syllable_pattern() -> None:
    for word in ["nghiêng", "khuyến", "người", "giấy", "quyết", "đường", "thu", "a", "oanh"]:
        assert is_vietnamese_syllable(word), word
    for word in ["request", "please", "office", "always", "birth", "street"]:
        assert not is_vietnamese_syllable(word), word
    assert not looks_vietnamese("UBND CCCD")  # acronyms only: no evidence either way


# --- Deadlines -------------------------------------------------------------------------------


def test_deadlines_from_a_monday_morning() -> None:
    d = petition_deadlines(vn(2026, 3, 2, 9))  # Monday
    assert d.received_on == date(2026, 3, 2)
    assert d.refuse_by == date(2026, 3, 4)
    assert d.first_info_request_by == date(2026, 3, 9)
    assert d.forward_by == date(2026, 3, 9)
    assert d.answer_by == date(2026, 3, 23)
    assert working_days_between(d.received_on, d.answer_by) == 15


def test_received_after_office_hours_or_weekend_counts_from_next_working_day() -> None:
    assert petition_received_day(vn(2026, 3, 2, 16, 59)) == date(2026, 3, 2)
    assert petition_received_day(vn(2026, 3, 2, 17, 0)) == date(2026, 3, 3)
    assert petition_received_day(vn(2026, 3, 6, 18)) == date(2026, 3, 9)  # Friday evening
    assert petition_received_day(vn(2026, 3, 7, 10)) == date(2026, 3, 9)  # Saturday
    assert petition_deadlines(vn(2026, 3, 7, 10)).refuse_by == date(2026, 3, 11)
    # naive = local; aware UTC is converted (Mon 02:00 UTC = Mon 09:00 local)
    assert petition_received_day(datetime(2026, 3, 2, 16, 30)) == date(2026, 3, 2)
    assert petition_received_day(datetime(2026, 3, 2, 2, tzinfo=UTC)) == date(2026, 3, 2)
    assert petition_received_day(datetime(2026, 3, 2, 10, tzinfo=UTC)) == date(2026, 3, 3)


def test_deadlines_skip_holidays() -> None:
    # Friday 24/04/2026; 27/04 (Hùng Kings, observed), 30/04 and 01/05 are days off
    d = petition_deadlines(vn(2026, 4, 24, 10))
    assert d.refuse_by == date(2026, 4, 29)
    assert d.first_info_request_by == date(2026, 5, 6)


def test_publish_by_after_answer() -> None:
    d = petition_deadlines(vn(2026, 3, 2))
    assert d.publish_by_after_answer(vn(2026, 3, 10, 16)) == date(2026, 3, 12)
    assert publish_by(vn(2026, 3, 13, 18)) == date(2026, 3, 18)  # Friday evening -> Monday + 2


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (vn(2026, 3, 9, 10), DeadlineStatus.OK),
        (vn(2026, 3, 10, 10), DeadlineStatus.DUE_SOON),
        (vn(2026, 3, 11, 23, 59), DeadlineStatus.DUE_SOON),
        (vn(2026, 3, 12, 0, 1), DeadlineStatus.OVERDUE),
        (datetime(2026, 3, 11, 17, 30, tzinfo=UTC), DeadlineStatus.OVERDUE),  # 00:30 local
    ],
)
def test_deadline_status(now: datetime, expected: DeadlineStatus) -> None:
    assert deadline_status(date(2026, 3, 11), now) is expected


def test_deadline_status_weekend_and_warn_days() -> None:
    monday = date(2026, 3, 16)
    assert deadline_status(monday, vn(2026, 3, 14)) == "due_soon"  # Saturday: 1 working day left
    assert deadline_status(monday, vn(2026, 3, 12)) == "ok"
    assert deadline_status(monday, vn(2026, 3, 12), warn_days=3) == "due_soon"
    assert deadline_status(monday, vn(2026, 3, 16), warn_days=0) == "due_soon"
    assert deadline_status(monday, vn(2026, 3, 13), warn_days=0) == "ok"


# --- Tracking codes --------------------------------------------------------------------------


def test_format_tracking_code() -> None:
    assert format_tracking_code(2026, 123) == "PAKN-2026-000123"
    assert format_tracking_code(2027, 999_999) == "PAKN-2027-999999"
    for year, number in [(2026, 0), (2026, 1_000_000), (1999, 1), (12026, 1)]:
        with pytest.raises(ValueError):
            format_tracking_code(year, number)


@pytest.mark.parametrize(
    "text",
    [
        "PAKN-2026-000123",
        "pakn-2026-000123",
        "pakn 2026 123",
        "PAKN2026000123",
        "Mã của tôi là PAKN 2026-000123 ạ",
        "mã: pakn/2026/123.",
        "PAKN – 2026 – 000123".replace("–", "-"),
        "ＰＡＫＮ－２０２６－０００１２３",  # full width
        "kiểm tra giúp PAKN_2026_123, cảm ơn",
    ],
)
def test_parse_tracking_code(text: str) -> None:
    assert parse_tracking_code(text) == (2026, 123)


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "2026-000123",
        "PAKN-2026",
        "PAKN-2026-000000",
        "XPAKN-2026-000123",
        "PAKN-1999-000123",
        "PAKN-2026-1234567",
    ],
)
def test_parse_tracking_code_rejects(text: str | None) -> None:
    assert parse_tracking_code(text) is None


def test_tracking_code_round_trip() -> None:
    for year, number in [(2026, 1), (2026, 123), (2030, 999_999)]:
        assert parse_tracking_code(format_tracking_code(year, number)) == (year, number)


# --- Redaction -------------------------------------------------------------------------------


def test_redact_phones_emails_ids() -> None:
    text = (
        "Liên hệ 0912 345 678 hoặc +84 987.654.321 hoặc 024 3825 1234, "
        "email an.nguyen@gmail.com, CCCD 001099012345, CMND 123456789."
    )
    out = redact_personal_data(text)
    for secret in ["0912", "987", "3825", "an.nguyen", "gmail", "001099012345", "123456789"]:
        assert secret not in out
    assert out.startswith("Liên hệ *** hoặc *** hoặc ***, email ***, CCCD ***, CMND ***.")


def test_redact_keeps_legal_references_amounts_and_dates() -> None:
    text = (
        "Theo Nghị định số 20/2008/NĐ-CP và Nghị định 92/2017/NĐ-CP, phí 100.000.000 đồng, "
        "nộp ngày 12/03/2026, hồ sơ số 000.00.12.H19-260302-0001."
    )
    assert redact_personal_data(text) == text


def test_redact_names_case_and_diacritic_insensitive() -> None:
    text = "Ông Nguyễn Văn An phản ánh; NGUYEN VAN AN đã nộp; nguyễn văn an ký tên. Văn An ok"
    out = redact_personal_data(text, names=["Nguyễn Văn An"])
    assert out == "Ông *** phản ánh; *** đã nộp; *** ký tên. Văn An ok"
    assert redact_personal_data(nfd("Bà Lê Thị Thúy"), names=["le thi thuy"]) == "Bà ***"
    assert redact_personal_data("Chị Trần Thị Ly", names=["Trần Thị Li"]) == "Chị ***"
    # whole words only
    assert redact_personal_data("Anh Anthony", names=["An"]) == "Anh Anthony"
    assert redact_personal_data("An toàn", names=["", " "]) == "An toàn"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nhà tôi ở số 12 ngõ 34 phố Hàng Bông", "Nhà tôi ở *** phố Hàng Bông"),
        ("so 12 ngo 34 ngach 5 pho Hang Bong", "*** pho Hang Bong"),
        ("Số nhà 15, tổ 3, phường Dịch Vọng", "***, tổ 3, phường Dịch Vọng"),
        ("SN 7 đường Trần Phú", "*** đường Trần Phú"),
        ("nhà 45 đường Lê Lợi", "*** đường Lê Lợi"),
        ("Địa chỉ: 12/3 Nguyễn Trãi, Quận 1", "Địa chỉ: *** Nguyễn Trãi, Quận 1"),
        ("Tôi ở 123/45 đường Lê Văn Sỹ", "Tôi ở *** đường Lê Văn Sỹ"),
        ("Số 5 hẻm 12/7 Lê Văn Sỹ", "*** Lê Văn Sỹ"),
    ],
)
def test_redact_house_numbers(text: str, expected: str) -> None:
    assert redact_personal_data(text) == expected


def test_redact_keeps_layout_and_handles_empty() -> None:
    assert redact_personal_data("Dòng 1\n\nDòng 2: 0912345678") == f"Dòng 1\n\nDòng 2: {REDACTED}"
    assert redact_personal_data("") == ""
    assert redact_personal_data(None) == ""
    assert redact_personal_data("09\u200b12345678") == REDACTED  # zero-width character dropped
    assert redact_personal_data("Không có gì riêng tư") == "Không có gì riêng tư"


@pytest.mark.parametrize(
    "written",
    [
        "+84-912-345-678",
        "0912  345  678",
        "(091) 234 5678",
        "84 912 345 678",
        "0912_345_678",
        "+84 (912) 345-678",
        "912.345.678",
    ],
)
def test_redact_the_senders_phone_however_written(written: str) -> None:
    # Open311 GET shows every petition's content through this: the sender's own phone must go
    # in whatever form it was typed in the text
    out = redact_personal_data(f"Gọi {written} nhé", names=["Nguyễn Văn An", "0912345678"])
    assert out in (f"Gọi {REDACTED} nhé", f"Gọi ({REDACTED} nhé"), out
    assert not any(ch.isdigit() for ch in out)
    # brackets around a whole number stay
    assert (
        redact_personal_data("ông An (0912345678)", names=["0912345678"]) == f"ông An ({REDACTED})"
    )


def test_redact_common_phone_forms_without_knowing_the_phone() -> None:
    assert redact_personal_data("Gọi +84-987-654-321 nhé") == f"Gọi {REDACTED} nhé"
    assert redact_personal_data("Gọi 0987  654  321 nhé") == f"Gọi {REDACTED} nhé"


def test_sender_strings_hide_the_house_and_street_of_the_address() -> None:
    strings = sender_strings(
        "Nguyễn Văn An", "12 Lê Lợi, phường Bến Thành, TP Hồ Chí Minh", "0912345678", "an@x.vn"
    )
    text = "Ông Nguyen Van An, nhà 12 Lê Lợi, phường Bến Thành bị ngập; gọi +84-912-345-678."
    out = redact_personal_data(text, names=strings)
    assert out == f"Ông {REDACTED}, nhà {REDACTED}, phường Bến Thành bị ngập; gọi {REDACTED}."
    # an address without a house number keeps its administrative parts visible
    assert sender_strings("A B", "Phường Bến Thành, Quận 1", None, None) == [
        "A B",
        "Phường Bến Thành, Quận 1",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Số CCCD 001 099 012 345 của tôi", f"Số CCCD {REDACTED} của tôi"),
        ("CMND số: 123.456.789.", f"CMND số: {REDACTED}."),
        ("căn cước công dân 001-099-012-345", f"căn cước công dân {REDACTED}"),
        ("mã định danh cá nhân 0010 9901 2345", f"mã định danh cá nhân {REDACTED}"),
    ],
)
def test_redact_labelled_id_numbers_written_with_separators(text: str, expected: str) -> None:
    # unpublished contents are public through Open311 GET: an ID number typed in groups
    # after its label must not pass
    assert redact_personal_data(text) == expected
