"""What a miss keeps of a citizen's question (``knowledge.misses``): no personal data, normalised
text, one key for identical texts; and the dialog's in-memory memory of the last list."""

from __future__ import annotations

import pytest

from handlers.procedures.learning import RecentResults
from knowledge.misses import (
    LOW_CONFIDENCE_SCORE,
    MISS_TEXT_MAX_CHARS,
    MissKind,
    miss_key,
    miss_kind_of,
    miss_text,
)


@pytest.mark.parametrize(
    ("typed", "secret"),
    [
        ("gọi cho tôi 0912 345 678 nhé", "345"),
        ("số tôi +84-912-345-678", "912"),
        ("mail an.nguyen@example.com hỏi thủ tục", "example"),
        ("CCCD 001099012345 bị mất", "012345"),
        ("cmnd 123456789 hết hạn", "456"),
        ("tra hồ sơ 000.00.17.H12-220615-0001 giúp", "220615"),
        ("hồ sơ 000 00 17 h12 220615 0001", "0001"),
        ("mã hồ sơ 000.00.17.H12-2206 bị thiếu", "2206"),
        ("sinh ngày 12/03/1990 cần làm gì", "1990"),
        ("mã số 8812345 ở đâu", "12345"),
        ("nhà số 12 ngõ 34 phố Huế", "34"),
        # disguises: a whole question holding one is not kept at all
        ("tôi tên là Nguyễn Văn An muốn làm căn cước", "Nguyễn"),
        ("họ tên: Lê Văn Cường cần cấp lại sổ", "Cường"),
        ("my name is John Smith, visa extension", "Smith"),
        ("Tôi là Nguyễn Văn An cần làm hộ chiếu", "Nguyễn"),
        ("I am Kim Jisoo, how to extend my visa", "Jisoo"),
        ("gửi giúp vào nguyenvana[at]gmail.com nhé", "nguyenvana"),
        ("mail nguyen.van.a @ gmail . com", "nguyen"),
        ("mail an＠gmail.com", "gmail"),
        ("cccd 001  203  004  567 bị mất", "567"),
        ("gọi 0912/345/678", "678"),
        ("xem https://evil.example/login", "evil"),
    ],
)
def test_personal_data_is_never_kept(typed: str, secret: str) -> None:
    kept = miss_text(typed)
    assert secret not in kept
    assert kept == "" or "***" in kept  # dropped, or masked where it was


def test_saying_what_one_is_is_not_a_name() -> None:
    assert miss_text("tôi là sinh viên muốn làm căn cước") == "tôi là sinh viên muốn làm căn cước"
    assert miss_text("I am a student, visa?") == "I am a student, visa?"


def test_procedure_codes_and_plain_words_are_kept() -> None:
    assert miss_text("thủ tục 1.001193 ở đâu") == "thủ tục 1.001193 ở đâu"
    assert miss_text("năm 2024 làm căn cước") == "năm 2024 làm căn cước"


def test_normalised_and_cut() -> None:
    nfd = "la\u0300m ca\u0306n cu\u031b\u01a1\u0301c"
    assert miss_text(f"  {nfd}  \n\t mới ") == "làm căn cước mới"
    assert len(miss_text("ab " * 500)) <= MISS_TEXT_MAX_CHARS
    assert miss_text("0912345678") == ""  # nothing but personal data: nothing to keep
    assert miss_text("   ") == ""


def test_identical_texts_share_a_key() -> None:
    assert miss_key(miss_text("Làm  CĂN cước")) == miss_key(miss_text("làm căn cước"))
    assert miss_key("làm căn cước") != miss_key("làm hộ chiếu")


def test_kind_of_an_answer() -> None:
    assert miss_kind_of(None, listed=False) is MissKind.NOTHING
    assert miss_kind_of(LOW_CONFIDENCE_SCORE - 0.1, listed=True) is MissKind.LOW_CONFIDENCE
    assert miss_kind_of(LOW_CONFIDENCE_SCORE, listed=True) is None
    assert miss_kind_of(100.0, listed=True) is None


def test_recent_results_expire_and_are_taken_once() -> None:
    now = [0.0]
    memory = RecentResults(ttl=120, max_chats=2, clock=lambda: now[0])
    memory.remember(("web", 1, 1), "làm căn cước", ["1.1", "1.2"])
    shown = memory.take(("web", 1, 1))
    assert shown is not None and shown.codes == ("1.1", "1.2")
    assert memory.take(("web", 1, 1)) is None  # taken once
    memory.remember(("web", 1, 1), "a", ["1"])
    now[0] = 121.0
    assert memory.take(("web", 1, 1)) is None  # too old
    for chat in range(5):
        memory.remember(("web", chat, chat), "a", ["1"])
    assert len(memory) == 2  # the oldest chats forgotten
