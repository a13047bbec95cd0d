"""The citizen's petition texts and keyboards: escaping, Telegram's limits (4096 characters per
message, 64 bytes of callback data), and the small pure rules of the form (attachments, limits,
steps, what a typed "done" or a request to send feedback looks like)."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup

from handlers.i18n import create_i18n
from handlers.petitions.callbacks import (
    FormAction,
    FormOp,
    PetitionMenu,
    PetitionMenuAction,
    PetitionReply,
    PetitionTopic,
    PetitionView,
    PublicList,
    PublicOpen,
    ReplyAction,
    ReplyOp,
)
from handlers.petitions.filters import asks_for_petition
from handlers.petitions.form_data import (
    ADDRESS,
    ALL_STEPS,
    CONTENT,
    FILES,
    NAME,
    REVIEW,
    TOPIC,
    FormData,
    step_before,
    steps_for,
)
from handlers.petitions.info_reply_texts import ask_reply_text
from handlers.petitions.keyboards import (
    BUTTON_TEXT_LIMIT,
    back_to_petitions,
    edit_keyboard,
    files_keyboard,
    my_petitions_keyboard,
    nav_keyboard,
    petition_keyboard,
    petitions_menu,
    public_item_keyboard,
    public_list_keyboard,
    redirect_keyboard,
    reply_keyboard,
    review_keyboard,
    topic_keyboard,
)
from handlers.petitions.labels import status_label, topic_label
from handlers.petitions.menu import new_form_id
from handlers.petitions.public_item import PUBLIC_PAGE_SIZE, PublicItem
from handlers.petitions.published_texts import public_list_text, render_public
from handlers.petitions.review_texts import render_review, thanks_text
from handlers.petitions.rules import (
    attachment_problem,
    clean_multiline,
    means_done,
    next_allowed_at,
)
from handlers.petitions.step_texts import (
    attachment_problem_text,
    contact_saved_text,
    file_added_text,
    problem_text,
    redirect_text,
    step_line,
    topic_results_text,
)
from handlers.petitions.submit import idempotency_key
from handlers.petitions.texts import limit_text
from handlers.petitions.tracking_texts import my_petitions_text, render_petition
from knowledge.catalog import load_default_catalog
from knowledge.models import Procedure
from knowledge.petitions import Classification, Problem, RequestKind
from tests.tools.telegram_server import parse_html, utf16_len

LIMIT = 4096
HOSTILE = '<b>Nguyễn</b> & "An" <script>alert(1)</script> 😀\u200b'


@pytest.fixture(params=["vi", "en"], autouse=True)
def locale(request: pytest.FixtureRequest) -> Iterator[str]:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(request.param):
        yield request.param


def assert_message(html: str) -> str:
    """Parses as Telegram HTML and fits one message; returns the visible text."""
    visible = parse_html(html)
    assert visible.strip()
    assert utf16_len(visible) <= LIMIT, utf16_len(visible)
    assert len(html) <= LIMIT * 2
    return visible


def buttons(markup: Any) -> list[Any]:
    assert isinstance(markup, InlineKeyboardMarkup)
    return [b for row in markup.inline_keyboard for b in row]


def assert_keyboard(markup: Any) -> None:
    keyboard = buttons(markup)
    assert keyboard, "the keyboard has no buttons"
    for b in keyboard:
        assert b.callback_data is not None
        assert 1 <= len(b.callback_data.encode()) <= 64, b.callback_data
        assert 1 <= len(b.text) <= BUTTON_TEXT_LIMIT, b.text


def form(**values: Any) -> FormData:
    base: dict[str, Any] = dict(
        id="a1b2c3d4e5",
        topic_kind="procedure",
        topic="Đăng ký khai sinh",
        procedure_code="1.001193",
        sector="Hộ tịch",
        content="Thủ tục yêu cầu nộp bản sao sổ hộ khẩu dù đã bỏ sổ hộ khẩu.",
        files=[{"kind": "photo", "file_id": "x", "size": 2_500_000}],
        files_done=True,
        name="Nguyễn Văn An",
        phone="0912345678",
        address="12 Lê Lợi, phường Bến Thành",
    )
    base.update(values)
    return FormData(**base)


# --- escaping --------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["telegram", "web"])
def test_review_escapes_everything_the_citizen_typed(channel: str) -> None:
    messages = render_review(
        form(content=HOSTILE + " nội dung", name=HOSTILE, address=HOSTILE, email=None), channel
    )
    assert len(messages) == 1
    visible = assert_message(messages[0])
    assert visible.count('<b>Nguyễn</b> & "An" <script>') == 3  # shown as typed, not as markup
    assert "<script>" not in messages[0]


def test_other_texts_escape_their_values() -> None:
    petition = SimpleNamespace(
        id=1,
        tracking_code="PAKN-2026-000001",
        status="refused",
        topic_kind="other",
        topic=HOSTILE,
        content=HOSTILE,
        received_at=datetime(2026, 11, 2, 2, tzinfo=UTC),
        answer_by=date(2026, 11, 23),
        refusal_reason=HOSTILE,
        answer=None,
    )
    for html in [
        *render_petition(petition, HOSTILE),
        topic_results_text(HOSTILE, 0, "telegram"),
        contact_saved_text(HOSTILE),
        redirect_text(Classification(RequestKind.COMPLAINT, matched=HOSTILE)),
        thanks_text("PAKN-2026-000001", HOSTILE, date(2026, 11, 23)),
        file_added_text([{"kind": "document", "name": HOSTILE, "size": 10}]),
        my_petitions_text([petition]),
    ]:
        assert "<script>" not in html
        assert_message(html)


# --- lengths ---------------------------------------------------------------------------------------


LONG_WORD = "x" * 6000
LONG_TEXT = ("Phản ánh dài 😀 & <b> " * 400 + "\n") * 3  # ~27,000 characters, emoji count twice


@pytest.mark.parametrize("content", [LONG_TEXT[:5000], LONG_WORD[:5000], "a\n" * 2500])
def test_a_long_review_is_split_and_every_field_shown_in_full(content: str) -> None:
    f = form(content=content, name="A " + "b" * 98, address="Đ" * 300)
    messages = render_review(f, "telegram")
    visible = "".join(assert_message(m) for m in messages)
    assert "".join(content.split()) in "".join(visible.split())  # nothing cut
    assert "Đ" * 300 in visible
    assert step_line(REVIEW, "telegram").strip("<i/>") in visible


def test_splitting_thousands_of_short_lines_is_fast() -> None:
    """Rendering runs on the event loop: a content of 2,000 one-letter lines (what fits in one
    Telegram message) must not stall it."""
    started = time.perf_counter()
    messages = render_review(form(content="a\n" * 2000), "telegram")
    assert time.perf_counter() - started < 0.25
    assert sum(m.count("\na") for m in messages) >= 1999


def test_petition_status_and_published_answers_are_split() -> None:
    petition = SimpleNamespace(
        id=9,
        tracking_code="PAKN-2026-000009",
        status="answered",
        topic_kind="procedure",
        topic="T" * 500,
        content=LONG_TEXT[:5000],
        received_at=datetime.now(UTC),
        answer_by=date.today(),
        refusal_reason=None,
        answer=LONG_TEXT,
    )
    messages = render_petition(petition, "Sở Tư pháp", attachments=3)
    assert len(messages) >= 5
    for m in messages:
        assert_message(m)
    item = PublicItem(
        id=9,
        tracking_code="PAKN-2026-000009",
        topic="T" * 500,
        agency="A" * 300,
        received_at=datetime.now(UTC),
        published_at=datetime.now(UTC),
        content=LONG_TEXT,
        answer=LONG_WORD,
    )
    parts = render_public(item)
    visible = "".join(assert_message(m) for m in parts)
    assert LONG_WORD in visible.replace("\n", "")
    listing = public_list_text([item] * PUBLIC_PAGE_SIZE, 0, 1000)
    assert_message(listing)
    assert_keyboard(public_list_keyboard([item] * PUBLIC_PAGE_SIZE, 3, 1000))


def test_the_reply_prompt_with_a_long_question_fits() -> None:
    petition = SimpleNamespace(id=3, tracking_code="PAKN-2026-000003")
    for m in ask_reply_text(petition, LONG_TEXT, "telegram"):
        assert_message(m)


# --- callback data ---------------------------------------------------------------------------------


@functools.cache
def catalog() -> tuple[Procedure, ...]:
    return tuple(load_default_catalog())


def longest_procedure_code() -> str:
    return max((p.code for p in catalog()), key=len)


def test_every_callback_fits_64_bytes_at_its_extremes() -> None:
    big = 2**63 - 1
    code = max(longest_procedure_code(), "2.002307.000.00.00.H35", key=len)
    form_id = new_form_id()
    assert len(form_id) == 10
    packed: list[CallbackData] = [
        *(PetitionMenu(action=a) for a in PetitionMenuAction),
        *(FormAction(op=op, form=form_id, arg=ADDRESS) for op in FormOp),
        PetitionTopic(code=code, form=form_id),
        PetitionView(id=big),
        PetitionReply(petition_id=big),
        *(ReplyOp(op=op, petition_id=big) for op in ReplyAction),
        PublicList(page=big),
        PublicOpen(id=big, page=big),
    ]
    for data in packed:
        raw = data.pack()
        assert len(raw.encode()) <= 64, raw
        assert type(data).unpack(raw) == data


def test_keyboards_stay_within_limits() -> None:
    longest = sorted(catalog(), key=lambda p: len(p.code) + len(p.name))[-5:]
    form_id = new_form_id()
    for markup in [
        topic_keyboard(form_id, longest, keep=True),
        topic_keyboard(form_id, longest, keep=True, editing=True),
        files_keyboard(form_id, 0),
        files_keyboard(form_id, 5),
        redirect_keyboard(form_id),
        review_keyboard(form_id),
        edit_keyboard(form_id, "telegram"),
        nav_keyboard(form_id, keep=True),
        petitions_menu(resume_step=7, total_steps=7),
        back_to_petitions(),
        reply_keyboard(2**40, 5),
        public_item_keyboard(2**40),
    ]:
        assert_keyboard(markup)
    petitions = [
        SimpleNamespace(id=2**40, tracking_code="PAKN-2026-999999", status=s)
        for s in ("received", "in_progress", "info_requested", "answered", "published", "refused")
    ]
    assert_keyboard(my_petitions_keyboard(petitions))
    assert_keyboard(petition_keyboard(petitions[2]))
    assert any("pr:" in b.callback_data for b in buttons(petition_keyboard(petitions[2])))
    received = buttons(petition_keyboard(petitions[0]))
    assert received, "a received petition's keyboard has no buttons"
    assert not any("pr:" in b.callback_data for b in received)


def test_edit_keyboard_offers_attachments_only_on_telegram() -> None:
    web = [b.callback_data for b in buttons(edit_keyboard("f", "web"))]
    telegram = [b.callback_data for b in buttons(edit_keyboard("f", "telegram"))]
    assert any(d.endswith(":files") for d in telegram)
    assert web, "the web edit keyboard has no buttons"
    assert not any(d.endswith(":files") for d in web)


def test_idempotency_key_fits_the_column() -> None:
    key = idempotency_key("telegram", str(-(10**13)), new_form_id())
    assert len(key) <= 128 and key.startswith("telegram:")


# --- the form's pure rules -------------------------------------------------------------------------


def test_form_data_round_trip_and_garbage() -> None:
    f = form()
    assert FormData.from_dict(f.to_dict()) == f
    assert FormData.from_dict(None) is None
    assert FormData.from_dict({"id": ""}) is None
    assert FormData.from_dict("text") is None
    odd = FormData.from_dict({"id": "x", "files": "nope", "unknown": 1})
    assert odd is not None and odd.files == []


def test_steps_and_the_next_missing_field() -> None:
    assert steps_for("telegram") == ALL_STEPS
    assert FILES not in steps_for("web")
    empty = FormData(id="x")
    assert empty.next_missing("telegram") == TOPIC
    partly = form(name=None, files=[], files_done=False)
    assert partly.next_missing("telegram") == FILES
    assert partly.next_missing("web") == NAME
    assert form().next_missing("web") == REVIEW
    assert form(phone=None, email="a@b.vn").next_missing("web") == REVIEW
    assert step_before(NAME, "web") == CONTENT
    assert step_before(NAME, "telegram") == FILES
    assert step_before(TOPIC, "telegram") is None


def test_clean_multiline_keeps_paragraphs_and_drops_invisible_characters() -> None:
    raw = "  Dòng\u200b một \u202e\r\n\r\n\r\n\r\nDòng\t\thai\x00  \n"
    assert clean_multiline(raw) == "Dòng một\n\nDòng hai"
    assert clean_multiline("\u200b\u200b ") == ""
    assert clean_multiline(None) == ""


@pytest.mark.parametrize(
    ("name", "mime", "size", "already", "expected"),
    [
        ("scan.PDF", "application/octet-stream", 1000, 0, None),
        ("anh.jpeg", None, None, 0, None),
        ("bang.xlsx", None, 1000, 4, None),
        ("virus.exe", "application/pdf", 1000, 0, "type"),
        ("noext", "application/pdf", 1000, 0, None),
        ("noext", "application/zip", 1000, 0, "type"),
        ("video.mp4", "video/mp4", 1000, 0, "type"),
        ("big.pdf", "application/pdf", 20 * 1024 * 1024 + 1, 0, "too_big"),
        ("ok.pdf", "application/pdf", 20 * 1024 * 1024, 0, None),
        ("sixth.pdf", "application/pdf", 10, 5, "too_many"),
    ],
)
def test_attachment_rules(
    name: str, mime: str | None, size: int | None, already: int, expected: str | None
) -> None:
    assert attachment_problem(name, mime, size, already) == expected
    if expected:
        assert_message(attachment_problem_text(expected))


def test_next_allowed_at() -> None:
    now = datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert next_allowed_at([], now, 2, 5) is None
    one = [now - timedelta(minutes=10)]
    assert next_allowed_at(one, now, 2, 5) is None
    two = [now - timedelta(minutes=50), now - timedelta(minutes=10)]
    assert next_allowed_at(two, now, 2, 5) == now + timedelta(minutes=10)
    day = [now - timedelta(hours=h) for h in (23, 20, 10, 5, 3)]
    assert next_allowed_at(day, now, 2, 5) == now + timedelta(hours=1)
    # both windows full: the later moment wins
    both = [now - timedelta(hours=h) for h in (20, 10, 5)] + two
    assert next_allowed_at(both, now, 2, 5) == now + timedelta(hours=4)
    assert_message(limit_text(now, 2, 5))


def test_every_problem_code_has_a_helpful_text() -> None:
    codes = [
        "content_empty",
        "content_too_long",
        "content_unclear",
        "content_too_short",
        "content_not_vietnamese",
        "name_missing",
        "name_invalid",
        "phone_invalid",
        "email_invalid",
        "contact_missing",
        "address_missing",
        "address_too_short",
        "address_too_long",
        "address_invalid",
    ]
    texts = {problem_text(Problem("x", code)) for code in codes}
    assert len(texts) >= 10  # not one generic message for everything
    for text in texts:
        assert_message(text)


@pytest.mark.parametrize(
    "kind", [RequestKind.COMPLAINT, RequestKind.DENUNCIATION, RequestKind.LEGAL_ADVICE]
)
def test_redirects_name_the_right_place(kind: RequestKind, locale: str) -> None:
    text = redirect_text(Classification(kind, matched="khiếu nại"))
    where = {
        RequestKind.COMPLAINT: "Luật Khiếu nại",
        RequestKind.DENUNCIATION: "Luật Tố cáo",
        RequestKind.LEGAL_ADVICE: "Sở Tư pháp",
    }[kind]
    assert where in text
    assert_message(text)


@pytest.mark.parametrize("text", ["xong", "Xong.", "bỏ qua", "bo qua", "Skip", "không có", "OK"])
def test_typed_done(text: str) -> None:
    assert means_done(text)


@pytest.mark.parametrize("text", ["xong hồ sơ chưa", "ảnh đây", ""])
def test_typed_not_done(text: str) -> None:
    assert not means_done(text)


@pytest.mark.parametrize(
    "text",
    [
        "tôi muốn phản ánh",
        "gui kien nghi ve thu tuc",
        "Góp ý về thủ tục cấp sổ đỏ",
        "PAKN",
        "send feedback",
    ],
)
def test_asks_for_petition(text: str) -> None:
    assert asks_for_petition(text)


@pytest.mark.parametrize(
    "text",
    [
        "đăng ký khai sinh",
        "góp ý kiến đối với quy chế quản lý kiến trúc",  # a catalog procedure
        "phản hồi",
        "",
        "😀",
    ],
)
def test_does_not_ask_for_petition(text: str) -> None:
    assert not asks_for_petition(text)


def test_topic_labels_for_every_kind() -> None:
    assert topic_label("procedure", "Đăng ký khai sinh") == "Đăng ký khai sinh"
    assert topic_label("service", None) != topic_label("other", None)
    for status in ("received", "in_progress", "info_requested", "answered", "published", "refused"):
        assert status_label(status) != status


def test_topic_results_list_real_procedures() -> None:
    procedures = [Procedure(code="1.001193", name="Đăng ký khai sinh")]
    markup = topic_keyboard("f", procedures)
    assert buttons(markup)[0].callback_data == "pt:1.001193:f"


def test_topic_buttons_tell_apart_procedures_of_the_same_name() -> None:
    procedures = [
        Procedure(
            code="1.000001", name="Đăng ký khai sinh kết hợp nhận cha, mẹ, con", levels=("Cấp xã",)
        ),
        Procedure(
            code="1.000002",
            name="Đăng ký khai sinh kết hợp nhận cha, mẹ, con",
            levels=("Cấp huyện",),
        ),
    ]
    labels = [b.text for b in buttons(topic_keyboard("f", procedures))[:2]]
    assert (
        labels[0] != labels[1] and labels[0].endswith("Cấp xã") and labels[1].endswith("Cấp huyện")
    )
    assert all(len(label) <= BUTTON_TEXT_LIMIT for label in labels)
